import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import type { NoteFileResult, NoteSummary, Recall, RecallHit } from '../recall/index.js';
import { excerpt } from '../recall/excerpt.js';
import { GLOBAL_OWNER } from '../recall/scope.js';
import { runCommand } from './run.js';

// Until the core's configuration carries it, the data folder is read here.
const DataEnvSchema = z.object({ HEARTH_DATA_DIR: z.string().min(1).default('.hearth') });

/** The core's database file: `$HEARTH_DATA_DIR/core.db` (default `.hearth/core.db`). */
export function coreDbPath(env: NodeJS.ProcessEnv): string {
  const parsed = DataEnvSchema.safeParse({ HEARTH_DATA_DIR: env.HEARTH_DATA_DIR || undefined });
  if (!parsed.success) throw new ConfigError('HEARTH_DATA_DIR must be a folder path, e.g. .hearth');
  return join(parsed.data.HEARTH_DATA_DIR, 'core.db');
}

const ownerName = (owner: string) => (owner === GLOBAL_OWNER ? 'everyone' : owner);
const owner = (value: string): string => {
  if (!/^[^\p{Cc}]{1,256}$/u.test(value)) throw new InvalidArgumentError('an owner is 1-256 printable characters, e.g. telegram:42');
  return value;
};
const count = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('a whole number from 1 to 100');
  return n;
};
const score = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < -1 || n > 1) throw new InvalidArgumentError('a cosine from -1 to 1, e.g. 0.2');
  return n;
};

/**
 * Opens recall on the core's database with the configured embedder, runs `body`, closes it.
 * Loaded on demand so other commands never pay for onnxruntime.
 */
async function withRecall<T>(body: (recall: Recall) => Promise<T>): Promise<T> {
  const { Recall, loadRecallConfig } = await import('../recall/index.js');
  const config = loadRecallConfig(process.env);
  if (!config.enabled) process.stderr.write('note: HEARTH_RECALL=off, so notes are kept but not added to prompts\n');
  const recall = await Recall.open({ dbPath: coreDbPath(process.env), config });
  try {
    return await body(recall);
  } finally {
    await recall.dispose();
  }
}

/** What `notes add` did, for people. */
function formatAdded(r: NoteFileResult): string {
  return `added ${r.file} for ${ownerName(r.owner)}: ${r.chunks} chunks (${r.added} new, ${r.updated} changed, ${r.unchanged} unchanged${r.removed ? `, ${r.removed} removed` : ''})\n`;
}

/** `notes list`, for people. */
function formatNotes(notes: NoteSummary[]): string {
  if (notes.length === 0) return 'no notes yet: add one with hearth notes add FILE\n';
  return notes
    .map((n) => `${n.file}  ${n.chunks} chunks, ${n.chars} chars  for ${ownerName(n.owner)}  added ${new Date(n.addedAt).toISOString()}`)
    .join('\n')
    .concat('\n');
}

/** `notes search`, for people: the blended score and its vector and keyword parts, where it came from, the part nearest the query. */
function formatHits(hits: RecallHit[], query: string): string {
  if (hits.length === 0) return 'nothing relevant found\n';
  return hits
    .map((h) => `${h.score.toFixed(3)}  ${h.source} ${h.ref}  (vector ${(h.vectorScore ?? 0).toFixed(3)}, keyword ${(h.keywordScore ?? 0).toFixed(3)})\n       ${excerpt(h.text, query, 160)}`)
    .join('\n')
    .concat('\n');
}

const print = (json: boolean, value: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : text);

/**
 * `hearth notes add|list|search`: the notes the assistant may recall (HEARTH_DATA_DIR/core.db).
 * Notes added without `--owner` are for every conversation.
 */
export function registerNotesCommand(program: Command): void {
  const notes = program.command('notes').description('notes the assistant recalls when relevant: add text or markdown files, list, search');
  notes
    .command('add <file>')
    .description('add (or update) a text or markdown file, cut into chunks and embedded')
    .option('--owner <id>', 'only for this user or conversation (e.g. telegram:42); default: everyone', owner)
    .option('--json', 'print JSON for programs', false)
    .action((file: string, options: { owner?: string; json: boolean }) =>
      runCommand(async () => {
        const result = await withRecall((recall) => recall.addNoteFile(file, { owner: options.owner ?? GLOBAL_OWNER }));
        print(options.json, result, formatAdded(result));
      }),
    );
  notes
    .command('list')
    .description('note files added, with their chunks and owner')
    .option('--json', 'print JSON for programs', false)
    .action((options: { json: boolean }) =>
      runCommand(async () => {
        // Listing needs no embedder: open the store alone.
        const [{ openDatabase }, { VectorStore }] = await Promise.all([import('../memory/database.js'), import('../recall/store.js')]);
        const db = openDatabase(coreDbPath(process.env));
        let list: NoteSummary[];
        try {
          list = new VectorStore(db).noteFiles();
        } finally {
          db.close();
        }
        print(options.json, list, formatNotes(list));
      }),
    );
  notes
    .command('search <query>')
    .description("what recall finds for QUERY: the owner's memories and everyone's notes, best first")
    .option('--owner <id>', 'search as this user or conversation (e.g. telegram:42); default: shared notes only', owner)
    .option('--limit <n>', 'most results', count, 5)
    .option('--min-score <cosine>', "least similarity (default: the embedder's own threshold)", score)
    .option('--json', 'print JSON for programs', false)
    .action((query: string, options: { owner?: string; limit: number; minScore?: number; json: boolean }) =>
      runCommand(async () => {
        const hits = await withRecall((recall) => recall.search(options.owner ?? GLOBAL_OWNER, query, options.limit, options.minScore));
        print(options.json, hits, formatHits(hits, query));
      }),
    );
}
