import { readFile, writeFile } from 'node:fs/promises';
import { HearthError, RedactionEnvSchema, SenderKeySchema, redactionConfigFromEnv } from '@hearth/shared';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { parseEnv } from '../env.js';
import { openDatabase } from '../memory/database.js';
import { exportItems, parseImport, type ExportFormat } from '../memory/memory-export.js';
import { MemoryFileSync } from '../memory/memory-file.js';
import { loadMemoryItemsConfig } from '../memory/memory-items-config.js';
import { MemoryItemStore, type MemoryItem } from '../memory/memory-items.js';
import { coreDbPath } from './notes.js';
import { runCommand } from './run.js';

const scope = (value: string): string => {
  const parsed = SenderKeySchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(parsed.error.issues[0]?.message ?? 'a sender is platform:id, e.g. telegram:42');
  return parsed.data;
};

/**
 * The items table with MEMORY.md read in first (the owner's edits win, as in the core), for
 * `body`; what it changes is written back to the file. A running core sees the file change.
 */
async function withItems<T>(body: (items: MemoryItemStore) => T | Promise<T>): Promise<T> {
  const db = openDatabase(coreDbPath(process.env));
  try {
    const items = new MemoryItemStore(db);
    const file = MemoryFileSync.open(items, loadMemoryItemsConfig(process.env).filePath);
    try {
      return await body(items);
    } finally {
      file.dispose();
    }
  } finally {
    db.close();
  }
}

/** `memory list`, for people. */
function formatItems(items: readonly MemoryItem[]): string {
  if (items.length === 0) return 'no memories yet: add one with hearth memory add --scope telegram:42 FACT\n';
  return items.map((item) => `#${item.id}  ${item.scope}  ${item.text}  (${item.source}, ${new Date(item.createdAt).toISOString()})`).join('\n').concat('\n');
}

const print = (json: boolean, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text);

/** `hearth memory list|add|forget|export|import`: the facts kept about each sender (core.db and MEMORY.md). */
export function registerMemoryCommand(program: Command): void {
  const memory = program.command('memory').description('facts the assistant keeps about each sender (also in HEARTH_DATA_DIR/MEMORY.md, which you may edit)');
  memory
    .command('list')
    .description('the facts kept, with their ids, by sender')
    .option('--scope <sender>', 'only this sender (platform:id, e.g. telegram:42)', scope)
    .option('--json', 'print JSON for programs', false)
    .action((options: { scope?: string; json: boolean }) =>
      runCommand(async () => {
        const items = await withItems((store) => store.list(options.scope));
        print(options.json, items, formatItems(items));
      }),
    );
  memory
    .command('add <fact...>')
    .description('keep a fact about a sender')
    .requiredOption('--scope <sender>', 'who it is about (platform:id, e.g. telegram:42)', scope)
    .option('--json', 'print JSON for programs', false)
    .action((fact: string[], options: { scope: string; json: boolean }) =>
      runCommand(async () => {
        const result = await withItems((store) => {
          try {
            return store.add({ scope: options.scope, text: fact.join(' '), source: 'cli' });
          } catch (error) {
            if (error instanceof RangeError) throw new HearthError('bad_memory', error.message);
            throw error;
          }
        });
        print(options.json, result, result.added ? `remembered #${result.item.id} for ${options.scope}\n` : `already remembered as #${result.item.id}\n`);
      }),
    );
  memory
    .command('forget <id-or-text...>')
    .description("forget a fact: its id (any sender's), or its text (with --scope)")
    .option('--scope <sender>', 'whose fact (needed to forget by text)', scope)
    .option('--json', 'print JSON for programs', false)
    .action((what: string[], options: { scope?: string; json: boolean }) =>
      runCommand(async () => {
        const wanted = what.join(' ');
        const gone = await withItems((store) => {
          const owner = options.scope ?? store.list().find((item) => `${item.id}` === wanted.replace(/^#/, ''))?.scope;
          if (owner === undefined) throw new HearthError('bad_memory', /^#?\d+$/.test(wanted) ? `no memory #${wanted.replace(/^#/, '')}` : 'give --scope to forget by text');
          return store.forget(owner, wanted);
        });
        if (gone.length === 0) throw new HearthError('bad_memory', 'nothing like that is remembered');
        print(options.json, gone, `forgot ${gone.map((item) => `#${item.id}`).join(', ')}\n`);
      }),
    );
  memory
    .command('export')
    .description('write the facts as Markdown or JSON, redacted as HEARTH_REDACT_KINDS says (emails, phones, cards, ... and sender keys that are phone numbers)')
    .addOption(new Option('--format <format>', 'md (as MEMORY.md) or json').choices(['md', 'json']).default('md'))
    .option('--scope <sender>', 'only this sender', scope)
    .option('--out <file>', 'write here instead of to stdout')
    .action((options: { format: ExportFormat; scope?: string; out?: string }) =>
      runCommand(async () => {
        const redaction = redactionConfigFromEnv(parseEnv(RedactionEnvSchema, process.env));
        const items = await withItems((store) => store.list(options.scope));
        const text = exportItems(items, options.format, redaction);
        if (options.out) await writeFile(options.out, text, { mode: 0o600 });
        else process.stdout.write(text);
        process.stderr.write(`exported ${items.length} memor${items.length === 1 ? 'y' : 'ies'}${options.out ? ` to ${options.out}` : ''}\n`);
      }),
    );
  memory
    .command('import <file>')
    .description('add the facts of a JSON export or a MEMORY.md-style file (kept ones stay; nothing is removed)')
    .addOption(new Option('--format <format>', 'md or json (default: by the file name)').choices(['md', 'json']))
    .option('--scope <sender>', 'put every fact under this sender', scope)
    .option('--json', 'print JSON for programs', false)
    .action((file: string, options: { format?: ExportFormat; scope?: string; json: boolean }) =>
      runCommand(async () => {
        const text = await readFile(file, 'utf8').catch((error: unknown) => {
          throw new HearthError('bad_import', `cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
        });
        const facts = parseImport(text, options.format ?? (file.toLowerCase().endsWith('.json') ? 'json' : 'md'), options.scope);
        const result = await withItems((store) => {
          let added = 0;
          let skipped = 0;
          for (const fact of facts) {
            try {
              if (store.add({ scope: fact.scope, text: fact.text, source: 'cli' }).added) added++;
            } catch (error) {
              if (!(error instanceof RangeError)) throw error;
              skipped++;
            }
          }
          return { added, unchanged: facts.length - added - skipped, skipped };
        });
        print(options.json, result, `imported ${result.added} new, ${result.unchanged} already kept${result.skipped ? `, ${result.skipped} too long` : ''}\n`);
      }),
    );
}
