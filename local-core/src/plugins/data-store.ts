import { z } from 'zod';
import { type Db, migrate } from '../memory/database.js';

const MiB = 1024 * 1024;

/** What one plugin may keep. Sizes are UTF-8 bytes, as stored; the total counts keys and values. */
export const PLUGIN_DATA_LIMITS = { keyLength: 512, valueBytes: 256 * 1024, keys: 10_000, totalBytes: 32 * MiB } as const;

// A lone surrogate would reach SQLite as U+FFFD: the key or value read back would not be the one written.
const wellFormed = (text: string) => !/\p{Cs}/u.test(text);

const Key = z
  .string()
  .min(1)
  .max(PLUGIN_DATA_LIMITS.keyLength)
  .refine((key) => !key.includes('\0'), 'a key may not contain NUL')
  .refine(wellFormed, 'a key must be well-formed Unicode');

/** What a plugin may ask of its storage (validated: the plugin is not trusted). */
export const DataRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('get'), key: Key }),
  z.object({ op: z.literal('put'), key: Key, value: z.string() /* JSON text made by the sandbox */ }),
  z.object({ op: z.literal('delete'), key: Key }),
  z.object({ op: z.literal('list'), prefix: z.string().max(512).refine(wellFormed, 'a prefix must be well-formed Unicode'), limit: z.number().int().min(1).max(1000) }),
]);
export type DataRequest = z.infer<typeof DataRequestSchema>;

export interface DataEntry {
  key: string;
  value: string;
}

/** get: the JSON text or null; put: null; delete: whether the key existed; list: entries sorted by key. */
export type DataResult = string | boolean | null | DataEntry[];

/** A request refused; `message` is what the plugin (and the log) get. */
export class PluginDataError extends Error {
  override readonly name = 'PluginDataError';
  constructor(
    readonly code: 'quota' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

// The running usage lives in its own table, updated in the put's transaction: a quota check is one
// row read, where a SUM would read up to 32 MiB of the plugin's values on every put.
const MIGRATIONS = [
  `CREATE TABLE plugin_data (
     plugin TEXT NOT NULL,
     key TEXT NOT NULL,
     value TEXT NOT NULL,
     updated_at INTEGER NOT NULL,
     PRIMARY KEY (plugin, key)
   ) STRICT, WITHOUT ROWID;
   CREATE TABLE plugin_data_usage (
     plugin TEXT PRIMARY KEY,
     keys INTEGER NOT NULL,
     bytes INTEGER NOT NULL
   ) STRICT;`,
];

const size = (bytes: number) => (bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

/**
 * The least string above every string that starts with `prefix`, in SQLite's order (UTF-8 bytes,
 * that is code points); null when there is none. Makes `list` an exact index range, where LIKE
 * would treat `%`, `_` and `\` as patterns.
 */
function prefixEnd(prefix: string): string | null {
  const points = Array.from(prefix, (char) => char.codePointAt(0) ?? 0);
  while (points.length > 0) {
    const next = (points.pop() ?? 0) + 1;
    if (next <= 0x10ffff) return String.fromCodePoint(...points, next === 0xd800 ? 0xe000 : next); // no text holds a surrogate
  }
  return null;
}

/**
 * Plugin storage (`ctx.data`) kept by the host in core.db, one namespace per plugin: the sandboxed
 * plugin asks over its channel and never names another plugin's rows, whatever key it passes.
 * Values are JSON text, quota-checked per plugin (see PLUGIN_DATA_LIMITS).
 *
 * @example
 * const data = new PluginDataStore(openDatabase('.hearth/core.db'));
 * data.handle('weather', { op: 'put', key: 'last-city', value: '"Lyon"' });
 * data.handle('weather', { op: 'get', key: 'last-city' }); // '"Lyon"'
 */
export class PluginDataStore {
  private readonly statements;
  private readonly put;
  private readonly remove;
  private readonly clearAll;

  constructor(readonly db: Db) {
    migrate(db, 'plugin_data', MIGRATIONS);
    const s = {
      get: db.prepare<[string, string], { value: string }>('SELECT value FROM plugin_data WHERE plugin = ? AND key = ?'),
      bytes: db.prepare<[string, string], { bytes: number }>(
        'SELECT octet_length(key) + octet_length(value) AS bytes FROM plugin_data WHERE plugin = ? AND key = ?',
      ),
      upsert: db.prepare<[string, string, string, number]>(
        'INSERT INTO plugin_data (plugin, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (plugin, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
      ),
      delete: db.prepare<[string, string]>('DELETE FROM plugin_data WHERE plugin = ? AND key = ?'),
      listFrom: db.prepare<[string, string, number], DataEntry>('SELECT key, value FROM plugin_data WHERE plugin = ? AND key >= ? ORDER BY key LIMIT ?'),
      listRange: db.prepare<[string, string, string, number], DataEntry>(
        'SELECT key, value FROM plugin_data WHERE plugin = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
      ),
      usage: db.prepare<[string], { keys: number; bytes: number }>('SELECT keys, bytes FROM plugin_data_usage WHERE plugin = ?'),
      addUsage: db.prepare<[string, number, number]>(
        'INSERT INTO plugin_data_usage (plugin, keys, bytes) VALUES (?, ?, ?) ON CONFLICT (plugin) DO UPDATE SET keys = keys + excluded.keys, bytes = bytes + excluded.bytes',
      ),
      clearRows: db.prepare<[string]>('DELETE FROM plugin_data WHERE plugin = ?'),
      clearUsage: db.prepare<[string]>('DELETE FROM plugin_data_usage WHERE plugin = ?'),
    };
    this.statements = s;
    this.put = db.transaction((plugin: string, key: string, value: string) => {
      const old = s.bytes.get(plugin, key)?.bytes;
      const used = this.usage(plugin);
      if (old === undefined && used.keys + 1 > PLUGIN_DATA_LIMITS.keys) {
        throw new PluginDataError(
          'quota',
          `plugin storage is full: ${PLUGIN_DATA_LIMITS.keys} keys at most (${used.keys} used); delete what is no longer needed`,
        );
      }
      const delta = Buffer.byteLength(key) + Buffer.byteLength(value) - (old ?? 0);
      if (used.bytes + delta > PLUGIN_DATA_LIMITS.totalBytes) {
        throw new PluginDataError(
          'quota',
          `plugin storage is full: ${PLUGIN_DATA_LIMITS.totalBytes / MiB} MiB in all (${size(used.bytes)} used, this put needs ${size(delta)} more); delete what is no longer needed`,
        );
      }
      s.upsert.run(plugin, key, value, Date.now());
      s.addUsage.run(plugin, old === undefined ? 1 : 0, delta);
    });
    this.remove = db.transaction((plugin: string, key: string): boolean => {
      const old = s.bytes.get(plugin, key)?.bytes;
      if (old === undefined) return false;
      s.delete.run(plugin, key);
      s.addUsage.run(plugin, -1, -old);
      return true;
    });
    this.clearAll = db.transaction((plugin: string): number => {
      s.clearUsage.run(plugin);
      return s.clearRows.run(plugin).changes;
    });
  }

  /** Answers one request of `plugin` (named by the host, never by the plugin); throws PluginDataError. */
  handle(plugin: string, request: DataRequest): DataResult {
    // Parsed again here: the type says nothing about what the sandbox really sent.
    const parsed = DataRequestSchema.safeParse(request);
    if (!parsed.success) throw new PluginDataError('invalid', `bad storage request: ${z.prettifyError(parsed.error)}`);
    const r = parsed.data;
    switch (r.op) {
      case 'get':
        return this.statements.get.get(plugin, r.key)?.value ?? null;
      case 'put':
        checkValue(r.value);
        // IMMEDIATE: the read-then-write must not be upgraded mid-way (SQLITE_BUSY if another process wrote).
        this.put.immediate(plugin, r.key, r.value);
        return null;
      case 'delete':
        return this.remove.immediate(plugin, r.key);
      case 'list': {
        const end = prefixEnd(r.prefix);
        return end === null ? this.statements.listFrom.all(plugin, r.prefix, r.limit) : this.statements.listRange.all(plugin, r.prefix, end, r.limit);
      }
    }
  }

  /** What `plugin` keeps: its keys and their bytes (keys + values, UTF-8). */
  usage(plugin: string): { keys: number; bytes: number } {
    const row = this.statements.usage.get(plugin);
    return { keys: row?.keys ?? 0, bytes: row?.bytes ?? 0 };
  }

  /** Forgets everything `plugin` kept; the number of keys removed. */
  clear(plugin: string): number {
    return this.clearAll.immediate(plugin);
  }
}

function checkValue(value: string): void {
  const bytes = Buffer.byteLength(value);
  // Size first: no parsing of a value that is refused anyway.
  if (bytes > PLUGIN_DATA_LIMITS.valueBytes) {
    throw new PluginDataError('quota', `plugin storage value is too large: ${PLUGIN_DATA_LIMITS.valueBytes / 1024} KiB at most (this one is ${size(bytes)})`);
  }
  if (!wellFormed(value)) throw new PluginDataError('invalid', 'a value must be well-formed Unicode');
  try {
    JSON.parse(value);
  } catch {
    throw new PluginDataError('invalid', 'a value must be JSON text');
  }
}
