import { existsSync, readFileSync, renameSync, watch, writeFileSync, mkdirSync, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { SenderKeySchema } from '@hearth/shared';
import type { Logger } from '../logger.js';
import { normalizeItem, type Fact, type MemoryItem, type MemoryItemStore } from './memory-items.js';

const HEADER = [
  '# Hearth memory',
  '',
  'What the assistant keeps about each sender: one fact per "- " line, under the sender\'s "## platform:id".',
  'Edit freely: the core reads this file back when it changes, and the file wins (lines removed are forgotten, lines added kept).',
  '',
].join('\n');

export interface ParsedMemoryFile {
  /** Scope → its facts, in file order. */
  scopes: Map<string, string[]>;
  /** Headings that are not a sender key, with their line number: their lines are ignored. */
  badHeadings: { line: number; heading: string }[];
}

/** MEMORY.md's facts: `- ` lines under a `## platform:id` heading; everything else is prose, ignored. */
export function parseMemoryFile(text: string): ParsedMemoryFile {
  const scopes = new Map<string, string[]>();
  const badHeadings: ParsedMemoryFile['badHeadings'] = [];
  let scope: string | undefined;
  for (const [index, line] of text.split(/\r?\n/).entries()) {
    const heading = /^##\s+(.+?)\s*$/.exec(line)?.[1];
    if (heading !== undefined) {
      scope = SenderKeySchema.safeParse(heading).success ? heading : undefined;
      if (scope === undefined) badHeadings.push({ line: index + 1, heading });
      else if (!scopes.has(scope)) scopes.set(scope, []);
      continue;
    }
    const fact = /^[-*]\s+(.*)$/.exec(line)?.[1];
    if (scope === undefined || fact === undefined) continue;
    const text = normalizeItem(fact);
    const list = scopes.get(scope);
    if (text.length > 0 && list && !list.includes(text)) list.push(text);
  }
  return { scopes, badHeadings };
}

/** MEMORY.md for `items`: a heading per scope (sorted), its facts oldest first. */
export function renderMemoryFile(items: readonly MemoryItem[]): string {
  const byScope = new Map<string, string[]>();
  for (const item of items) byScope.set(item.scope, [...(byScope.get(item.scope) ?? []), item.text]);
  const sections = [...byScope.keys()].sort().map((scope) => `## ${scope}\n${(byScope.get(scope) ?? []).map((text) => `- ${text}`).join('\n')}\n`);
  return `${HEADER}${sections.length > 0 ? '\n' : ''}${sections.join('\n')}`;
}

const factsOf = (scopes: ReadonlyMap<string, readonly string[]>): Map<string, Fact> =>
  new Map([...scopes].flatMap(([scope, texts]) => texts.map((text): [string, Fact] => [`${scope}\n${text}`, { scope, text }])));

/** The facts added and removed between two versions of the file. */
function editsBetween(before: ReadonlyMap<string, readonly string[]>, after: ReadonlyMap<string, readonly string[]>): { add: Fact[]; remove: Fact[] } {
  const old = factsOf(before);
  const now = factsOf(after);
  return { add: [...now].filter(([key]) => !old.has(key)).map(([, fact]) => fact), remove: [...old].filter(([key]) => !now.has(key)).map(([, fact]) => fact) };
}

/**
 * Keeps HEARTH_DATA_DIR/MEMORY.md and the memory items table in step. Which wins: the file.
 * At open it is the whole truth (edits made while the core was down are kept, lines removed
 * forgotten); while running, the owner's edits (lines added or removed since it was last in
 * step, read on change, debounced) apply over the table, and facts kept meanwhile stay. A
 * missing file is written from the table (deleting it is not "forget everything"). Every change
 * made elsewhere (tools, /remember, the CLI) rewrites the file, after reading any edit not yet
 * read. The owner's own edits are not rewritten into canonical form behind their editor.
 *
 * @example
 * const sync = MemoryFileSync.open(items, '.hearth/MEMORY.md', log); sync.watch(); ... sync.close();
 */
export class MemoryFileSync {
  private lastWritten: string | undefined;
  private applying = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onChange = () => {
    if (!this.applying) this.write();
  };

  private constructor(
    private readonly items: MemoryItemStore,
    readonly path: string,
    private readonly log: Logger | undefined,
    private readonly debounceMs: number,
  ) {}

  /** Reads the file into the table (it wins), or writes it from the table when there is none; then follows the table's changes. */
  static open(items: MemoryItemStore, path: string, log?: Logger, debounceMs = 150): MemoryFileSync {
    const sync = new MemoryFileSync(items, path, log, debounceMs);
    if (existsSync(path)) sync.read();
    else sync.write();
    items.on('change', sync.onChange);
    return sync;
  }

  /** Follows the owner's edits. The folder is watched: editors save by replacing the file. */
  watch(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    const name = basename(this.path);
    this.watcher = watch(dirname(this.path), (_event, file) => {
      if (file !== null && file !== name) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.read(), this.debounceMs);
    });
    this.watcher.on('error', (error) => this.log?.warn({ err: error.message }, 'MEMORY.md is no longer watched'));
  }

  /** Applies the file to the table, unless it is what this process wrote last (or gone). */
  read(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return; // Removed or mid-replace: the next event, or the next change, settles it.
    }
    if (text === this.lastWritten) return;
    const parsed = parseMemoryFile(text);
    for (const bad of parsed.badHeadings) this.log?.warn({ line: bad.line }, 'MEMORY.md: a heading that is not a sender (platform:id); its lines are ignored');
    this.applying = true;
    try {
      // Against what was last in step, only the owner's own edits apply: a fact kept meanwhile stays.
      const { added, removed } =
        this.lastWritten === undefined ? this.items.replaceAll(parsed.scopes) : this.items.applyEdits(editsBetween(parseMemoryFile(this.lastWritten).scopes, parsed.scopes));
      if (added + removed > 0) this.log?.info({ added, removed }, 'memory items read back from MEMORY.md');
    } finally {
      this.applying = false;
    }
    this.lastWritten = text;
  }

  /**
   * Writes the table to the file (atomically, owner-only); nothing when it already says that.
   * An edit of the owner's not read yet is read first, so a change made meanwhile never overwrites it.
   */
  write(): void {
    if (this.lastWritten !== undefined && existsSync(this.path)) this.read();
    const text = renderMemoryFile(this.items.list());
    if (text === this.lastWritten && existsSync(this.path)) return;
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, text, { mode: 0o600 });
    renameSync(temporary, this.path);
    this.lastWritten = text;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.watcher?.close();
    this.items.off('change', this.onChange);
  }
}
