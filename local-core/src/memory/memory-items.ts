import { EventEmitter } from 'node:events';
import { ftsIndexStep, ftsQuery, scaledBm25 } from '../recall/fts.js';
import { migrate, type Db } from './database.js';

/** Who wrote an item: the model's `remember` tool, a `/remember`, the CLI, or the owner's MEMORY.md. */
export type ItemSource = 'tool' | 'command' | 'cli' | 'file';

/** A fact kept about a sender, e.g. "I am vegetarian", within the sender's scope (`telegram:42`). */
export interface MemoryItem {
  id: number;
  /** The sender key it is about and recalled for: a paired friend's items never reach the owner's turns. */
  scope: string;
  text: string;
  source: ItemSource;
  /** The message it was stated in (the source turn); null for the CLI and the file. */
  messageId: string | null;
  createdAt: number;
}

/** A fact as MEMORY.md has it: no id, turn or time. */
export interface Fact {
  scope: string;
  text: string;
}

export interface AddItem {
  scope: string;
  text: string;
  source: ItemSource;
  messageId?: string | undefined;
  createdAt?: number;
}

/** Longest fact kept: a memory is a sentence, not a document (notes are for those). */
export const MAX_ITEM_CHARS = 500;

// Append-only (see migrate): the memory_items component's steps.
const STEPS = [
  `CREATE TABLE memory_items (
     id INTEGER PRIMARY KEY,
     scope TEXT NOT NULL,
     text TEXT NOT NULL,
     source TEXT NOT NULL,
     message_id TEXT,
     created_at INTEGER NOT NULL,
     UNIQUE (scope, text)
   )`,
  // Full-text index (BM25) beside the vectors, as recall has.
  ftsIndexStep('memory_items', 'memory_items_fts'),
];

interface Row {
  id: number;
  scope: string;
  text: string;
  source: ItemSource;
  message_id: string | null;
  created_at: number;
}

const toItem = (row: Row): MemoryItem => ({ id: row.id, scope: row.scope, text: row.text, source: row.source, messageId: row.message_id, createdAt: row.created_at });

/** One line of text: whitespace runs (newlines included) become one space, so an item is one `- ` line of MEMORY.md. */
export const normalizeItem = (text: string): string => text.replace(/\s+/g, ' ').trim();

/**
 * The memory items table: facts about each sender, kept until forgotten. Emits `change` after
 * every write that changed something (MEMORY.md is rewritten on it).
 *
 * @example
 * const items = new MemoryItemStore(db);
 * items.add({ scope: 'telegram:42', text: 'I am vegetarian', source: 'tool', messageId: 'telegram:42:7' });
 */
export class MemoryItemStore extends EventEmitter<{ change: [] }> {
  constructor(private readonly db: Db) {
    super();
    migrate(db, 'memory_items', STEPS);
  }

  /**
   * Keeps a fact; the same text in the same scope is kept once (the first statement's turn and time stay).
   *
   * @throws RangeError when the text is empty or longer than {@link MAX_ITEM_CHARS}
   */
  add(item: AddItem): { item: MemoryItem; added: boolean } {
    const text = normalizeItem(item.text);
    if (text.length === 0) throw new RangeError('a memory needs some text');
    if (text.length > MAX_ITEM_CHARS) throw new RangeError(`a memory is at most ${MAX_ITEM_CHARS} characters (this one has ${text.length})`);
    const inserted = this.db
      .prepare('INSERT INTO memory_items (scope, text, source, message_id, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, text) DO NOTHING')
      .run(item.scope, text, item.source, item.messageId ?? null, item.createdAt ?? Date.now());
    const row = this.db.prepare<[string, string], Row>('SELECT * FROM memory_items WHERE scope = ? AND text = ?').get(item.scope, text);
    if (!row) throw new Error('memory item vanished after insert');
    if (inserted.changes > 0) this.emit('change');
    return { item: toItem(row), added: inserted.changes > 0 };
  }

  /**
   * Forgets, within `scope` only: the item with that id (`"12"` or `"#12"`), else items whose
   * text is `what` (any case), else, when exactly one item contains it, that one (a vague word
   * never wipes several). Returns what was forgotten.
   */
  forget(scope: string, what: string): MemoryItem[] {
    const wanted = normalizeItem(what);
    const id = /^#?(\d{1,15})$/.exec(wanted)?.[1];
    const items = this.list(scope);
    let gone = id === undefined ? [] : items.filter((item) => item.id === Number(id));
    if (gone.length === 0) gone = items.filter((item) => item.text.toLowerCase() === wanted.toLowerCase());
    if (gone.length === 0 && wanted.length > 0) {
      const containing = items.filter((item) => item.text.toLowerCase().includes(wanted.toLowerCase()));
      if (containing.length === 1) gone = containing;
    }
    this.remove(gone.map((item) => item.id));
    return gone;
  }

  /** The items of one scope, or of all (by scope, then oldest first). */
  list(scope?: string): MemoryItem[] {
    const rows =
      scope === undefined
        ? this.db.prepare<[], Row>('SELECT * FROM memory_items ORDER BY scope, created_at, id').all()
        : this.db.prepare<[string], Row>('SELECT * FROM memory_items WHERE scope = ? ORDER BY created_at, id').all(scope);
    return rows.map(toItem);
  }

  /** Keyword (BM25) scores of `scope`'s items for the words of `query`, by item id (0 to 1, see scaledBm25); items that share no word are absent. */
  keywordScores(scope: string, query: string): Map<number, number> {
    const match = ftsQuery(query);
    if (match === '') return new Map();
    const rows = this.db
      .prepare<[string, string], { id: number; rank: number }>(
        `SELECT m.id, bm25(memory_items_fts) AS rank FROM memory_items_fts JOIN memory_items m ON m.id = memory_items_fts.rowid
         WHERE memory_items_fts MATCH ? AND m.scope = ? ORDER BY rank`,
      )
      .all(match, scope);
    const scores = scaledBm25(rows.map((row) => row.rank));
    return new Map(rows.map((row, i) => [row.id, scores[i] ?? 0]));
  }

  /**
   * Makes the table hold exactly `wanted` (scope → texts), as the owner's MEMORY.md says:
   * items kept keep their turn and time, new lines become items of source `file`, the rest go.
   */
  replaceAll(wanted: ReadonlyMap<string, readonly string[]>): { added: number; removed: number } {
    const keep = new Set<string>();
    for (const [scope, texts] of wanted) for (const text of texts) keep.add(`${scope}\n${normalizeItem(text)}`);
    let added = 0;
    let removed = 0;
    this.db.transaction(() => {
      const stale = this.list().filter((item) => !keep.delete(`${item.scope}\n${item.text}`));
      removed = this.remove(stale.map((item) => item.id), false);
      added = this.insertFromFile([...keep].map((key) => ({ scope: key.slice(0, key.indexOf('\n')), text: key.slice(key.indexOf('\n') + 1) })));
    })();
    if (added + removed > 0) this.emit('change');
    return { added, removed };
  }

  /** The owner's edits of MEMORY.md since it was last in step: facts added and removed, in one transaction. */
  applyEdits(edits: { add: readonly Fact[]; remove: readonly Fact[] }): { added: number; removed: number } {
    let added = 0;
    let removed = 0;
    this.db.transaction(() => {
      const del = this.db.prepare('DELETE FROM memory_items WHERE scope = ? AND text = ?');
      for (const fact of edits.remove) removed += del.run(fact.scope, normalizeItem(fact.text)).changes;
      added = this.insertFromFile(edits.add);
    })();
    if (added + removed > 0) this.emit('change');
    return { added, removed };
  }

  private insertFromFile(facts: readonly Fact[]): number {
    const insert = this.db.prepare('INSERT INTO memory_items (scope, text, source, message_id, created_at) VALUES (?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING');
    const now = Date.now();
    let added = 0;
    for (const { scope, text } of facts) {
      const fact = normalizeItem(text);
      // Too long for an item: left in the file, not kept (the file's reader logs nothing per line).
      if (fact.length > 0 && fact.length <= MAX_ITEM_CHARS) added += insert.run(scope, fact, 'file', now).changes;
    }
    return added;
  }

  private remove(ids: readonly number[], notify = true): number {
    const del = this.db.prepare('DELETE FROM memory_items WHERE id = ?');
    let removed = 0;
    for (const id of ids) removed += del.run(id).changes;
    if (notify && removed > 0) this.emit('change');
    return removed;
  }
}
