import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/memory/database.js';
import { type DataRequest, PLUGIN_DATA_LIMITS, PluginDataError, PluginDataStore } from '../../src/plugins/data-store.js';
import { tempDir } from '../support.js';

let db: Db | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  db?.close();
  db = undefined;
  await cleanup?.();
  cleanup = undefined;
});

const open = async () => {
  const temp = await tempDir();
  cleanup = temp.cleanup;
  const path = join(temp.dir, 'core.db');
  db = openDatabase(path);
  return { store: new PluginDataStore(db), path };
};

/** A JSON string value of exactly `bytes` bytes. */
const jsonOf = (bytes: number) => JSON.stringify('x'.repeat(bytes - 2));

/** What `fn` threw, as a PluginDataError (fails the test if it threw nothing else). */
const refusal = (fn: () => unknown): PluginDataError => {
  try {
    fn();
  } catch (error) {
    if (error instanceof PluginDataError) return error;
    throw error;
  }
  throw new Error('expected a PluginDataError');
};

const rows = () => db!.prepare('SELECT plugin, key, value, updated_at FROM plugin_data ORDER BY plugin, key').all();
const usageRows = () => db!.prepare('SELECT * FROM plugin_data_usage ORDER BY plugin').all();

describe('plugin data store', () => {
  it('puts, gets, lists and deletes', async () => {
    const { store } = await open();
    expect(store.handle('p', { op: 'get', key: 'a' })).toBeNull();
    expect(store.handle('p', { op: 'put', key: 'a', value: '{"n":1}' })).toBeNull();
    expect(store.handle('p', { op: 'put', key: 'b', value: '[true]' })).toBeNull();
    expect(store.handle('p', { op: 'get', key: 'a' })).toBe('{"n":1}');
    store.handle('p', { op: 'put', key: 'a', value: '2' });
    expect(store.handle('p', { op: 'get', key: 'a' })).toBe('2');
    expect(store.handle('p', { op: 'list', prefix: '', limit: 10 })).toEqual([
      { key: 'a', value: '2' },
      { key: 'b', value: '[true]' },
    ]);
    expect(store.handle('p', { op: 'delete', key: 'a' })).toBe(true);
    expect(store.handle('p', { op: 'delete', key: 'a' })).toBe(false);
    expect(store.handle('p', { op: 'get', key: 'a' })).toBeNull();
    expect(store.usage('p')).toEqual({ keys: 1, bytes: 'b'.length + '[true]'.length });
  });

  it('keeps values across a reopening of the database', async () => {
    const { store, path } = await open();
    store.handle('p', { op: 'put', key: 'city', value: '"Lyon"' });
    const before = store.usage('p');
    db!.close();
    db = openDatabase(path);
    const reopened = new PluginDataStore(db);
    expect(reopened.handle('p', { op: 'get', key: 'city' })).toBe('"Lyon"');
    expect(reopened.usage('p')).toEqual(before);
  });

  it("never lets a plugin see, change or delete another plugin's rows", async () => {
    const { store } = await open();
    store.handle('weather', { op: 'put', key: 'k', value: '"weather"' });
    store.handle('weather2', { op: 'put', key: 'k', value: '"weather2"' });
    // Keys are opaque: a path-like key is just a key of the plugin's own.
    store.handle('weather', { op: 'put', key: '../weather2/k', value: '"mine"' });
    expect(store.handle('weather', { op: 'get', key: 'k' })).toBe('"weather"');
    expect(store.handle('weather2', { op: 'get', key: 'k' })).toBe('"weather2"');
    expect(store.handle('weather2', { op: 'list', prefix: '', limit: 1000 })).toEqual([{ key: 'k', value: '"weather2"' }]);
    expect(store.handle('weather', { op: 'list', prefix: '', limit: 1000 })).toEqual([
      { key: '../weather2/k', value: '"mine"' },
      { key: 'k', value: '"weather"' },
    ]);
    expect(store.handle('other', { op: 'list', prefix: '', limit: 1000 })).toEqual([]);
    expect(store.handle('other', { op: 'delete', key: 'k' })).toBe(false);
    expect(store.handle('weather', { op: 'delete', key: 'k' })).toBe(true);
    expect(store.handle('weather2', { op: 'get', key: 'k' })).toBe('"weather2"');
    expect(store.clear('weather')).toBe(1);
    expect(store.handle('weather2', { op: 'get', key: 'k' })).toBe('"weather2"');
    expect(store.usage('weather2')).toEqual({ keys: 1, bytes: 1 + '"weather2"'.length });
  });

  it('refuses a value over 256 KiB, counted in UTF-8 bytes, and takes one of exactly 256 KiB', async () => {
    const { store } = await open();
    const max = PLUGIN_DATA_LIMITS.valueBytes;
    expect(max).toBe(256 * 1024);
    store.handle('p', { op: 'put', key: 'ok', value: jsonOf(max) });
    const tooLarge = refusal(() => store.handle('p', { op: 'put', key: 'big', value: jsonOf(max + 1) }));
    expect(tooLarge.code).toBe('quota');
    expect(tooLarge.message).toMatch(/256 KiB at most/);
    // Fewer characters than the limit, more bytes: 'é' is two.
    const accents = JSON.stringify('é'.repeat(max / 2));
    expect(accents.length).toBeLessThan(max);
    expect(refusal(() => store.handle('p', { op: 'put', key: 'big', value: accents })).code).toBe('quota');
    expect(store.handle('p', { op: 'get', key: 'big' })).toBeNull();
  });

  it('refuses a new key past 10,000, but still replaces and takes one after a delete', async () => {
    const { store } = await open();
    const limit = PLUGIN_DATA_LIMITS.keys;
    expect(limit).toBe(10_000);
    for (let i = 0; i < limit; i++) store.handle('p', { op: 'put', key: `k${i}`, value: '1' });
    const full = refusal(() => store.handle('p', { op: 'put', key: 'one-more', value: '1' }));
    expect(full.code).toBe('quota');
    expect(full.message).toBe('plugin storage is full: 10000 keys at most (10000 used); delete what is no longer needed');
    store.handle('p', { op: 'put', key: 'k0', value: '2' });
    expect(store.handle('p', { op: 'get', key: 'k0' })).toBe('2');
    store.handle('p', { op: 'delete', key: 'k1' });
    store.handle('p', { op: 'put', key: 'one-more', value: '1' });
    expect(store.usage('p').keys).toBe(limit);
    // Another plugin has its own quota.
    store.handle('q', { op: 'put', key: 'k', value: '1' });
  });

  it('refuses a put past 32 MiB in all, writing nothing, and counts a replacement as new minus old', async () => {
    const { store } = await open();
    const total = PLUGIN_DATA_LIMITS.totalBytes;
    expect(total).toBe(32 * 1024 * 1024);
    const big = jsonOf(PLUGIN_DATA_LIMITS.valueBytes);
    let i = 0;
    while (store.usage('p').bytes + 4 + big.length <= total) store.handle('p', { op: 'put', key: `k${String(i++).padStart(3, '0')}`, value: big });
    expect(i).toBe(127);
    const used = store.usage('p');
    const before = rows();

    const full = refusal(() => store.handle('p', { op: 'put', key: 'next', value: big }));
    expect(full.code).toBe('quota');
    expect(full.message).toMatch(/^plugin storage is full: 32 MiB in all \(31\.\d MiB used, this put needs 256\.0 KiB more\); delete what is no longer needed$/);
    expect(rows()).toEqual(before);
    expect(store.usage('p')).toEqual(used);

    // Same size replaced at a full store: new minus old is nothing.
    store.handle('p', { op: 'put', key: 'k000', value: big.replace('xx', 'yy') });
    // Exactly up to the limit is fine; one byte more is not.
    const room = total - used.bytes;
    store.handle('p', { op: 'put', key: 'last', value: jsonOf(room - 4) });
    expect(store.usage('p')).toEqual({ keys: 128, bytes: total });
    expect(refusal(() => store.handle('p', { op: 'put', key: 'x', value: '1' })).code).toBe('quota');
    // Shrinking a value frees its bytes.
    store.handle('p', { op: 'put', key: 'k001', value: '1' });
    store.handle('p', { op: 'put', key: 'x', value: '1' });
  });

  it('writes nothing when a grown replacement would pass the total', async () => {
    const { store } = await open();
    const big = jsonOf(PLUGIN_DATA_LIMITS.valueBytes);
    for (let i = 0; i < 127; i++) store.handle('p', { op: 'put', key: `k${String(i).padStart(3, '0')}`, value: big });
    store.handle('p', { op: 'put', key: 'small', value: '1' });
    const room = PLUGIN_DATA_LIMITS.totalBytes - store.usage('p').bytes;
    const before = rows();
    const used = store.usage('p');
    // 'small' grows by room + 1 bytes: one too many.
    const refused = refusal(() => store.handle('p', { op: 'put', key: 'small', value: jsonOf(1 + room + 1) }));
    expect(refused.code).toBe('quota');
    expect(rows()).toEqual(before);
    expect(store.usage('p')).toEqual(used);
    store.handle('p', { op: 'put', key: 'small', value: jsonOf(1 + room) });
    expect(store.usage('p').bytes).toBe(PLUGIN_DATA_LIMITS.totalBytes);
  });

  it('refuses values that are not JSON text, and malformed requests, as invalid', async () => {
    const { store } = await open();
    for (const value of ['', 'not json', '{"a":', "{'a':1}", 'undefined', '"\uD800"']) {
      const error = refusal(() => store.handle('p', { op: 'put', key: 'k', value }));
      expect(error.code, value).toBe('invalid');
    }
    for (const value of ['null', '0', '"s"', '[1,{"a":[]}]', ' {"spaced": true} ']) store.handle('p', { op: 'put', key: value, value });
    const bad: unknown[] = [
      { op: 'get', key: '' },
      { op: 'get', key: 'a\0b' },
      { op: 'get', key: 'k'.repeat(513) },
      { op: 'put', key: '\uDC00', value: '1' },
      { op: 'put', key: 'k', value: { not: 'text' } },
      { op: 'list', prefix: '', limit: 0 },
      { op: 'list', prefix: '', limit: 1001 },
      { op: 'list', prefix: 'x'.repeat(513), limit: 1 },
      { op: 'drop' },
      null,
    ];
    for (const request of bad) expect(refusal(() => store.handle('p', request as DataRequest)).code, JSON.stringify(request)).toBe('invalid');
    store.handle('p', { op: 'get', key: 'k'.repeat(512) });
    expect(store.usage('p').keys).toBe(5);
    expect(rows().map((row) => (row as { key: string }).key)).not.toContain('k');
  });

  it('lists by prefix exactly, whatever characters it holds', async () => {
    const { store } = await open();
    const keys = ['a%b', 'a%c', 'axb', 'a_b', 'aXb', 'a\\b', 'a\\\\', 'ab', 'b', 'p\u{10FFFF}', 'p\u{10FFFF}x', 'q', '\u{10FFFF}z', '\uD7FFa', '\uE000'];
    for (const key of keys) store.handle('p', { op: 'put', key, value: '0' });
    const list = (prefix: string) => (store.handle('p', { op: 'list', prefix, limit: 1000 }) as { key: string }[]).map((entry) => entry.key);
    expect(list('a%')).toEqual(['a%b', 'a%c']);
    expect(list('a_')).toEqual(['a_b']);
    expect(list('a\\')).toEqual(['a\\\\', 'a\\b']);
    expect(list('p')).toEqual(['p\u{10FFFF}', 'p\u{10FFFF}x']);
    expect(list('p\u{10FFFF}')).toEqual(['p\u{10FFFF}', 'p\u{10FFFF}x']);
    expect(list('\u{10FFFF}')).toEqual(['\u{10FFFF}z']);
    expect(list('\uD7FF')).toEqual(['\uD7FFa']);
    expect(list('zzz')).toEqual([]);
    expect(list('')).toHaveLength(keys.length);
  });

  it('lists at most `limit` entries, sorted by key (code point order)', async () => {
    const { store } = await open();
    for (const key of ['n3', 'n1', 'n10', 'n2', 'n\uFFFF', 'n\u{10000}', 'm']) store.handle('p', { op: 'put', key, value: `"${key}"` });
    expect(store.handle('p', { op: 'list', prefix: 'n', limit: 3 })).toEqual([
      { key: 'n1', value: '"n1"' },
      { key: 'n10', value: '"n10"' },
      { key: 'n2', value: '"n2"' },
    ]);
    const all = (store.handle('p', { op: 'list', prefix: 'n', limit: 1000 }) as { key: string }[]).map((entry) => entry.key);
    // SQLite compares UTF-8 bytes: U+FFFF before U+10000, unlike JavaScript's UTF-16 sort.
    expect(all).toEqual(['n1', 'n10', 'n2', 'n3', 'n\uFFFF', 'n\u{10000}']);
    expect(store.handle('p', { op: 'list', prefix: '', limit: 1 })).toEqual([{ key: 'm', value: '"m"' }]);
  });

  it('reports usage in UTF-8 bytes of keys and values, and clears one plugin', async () => {
    const { store } = await open();
    expect(store.usage('p')).toEqual({ keys: 0, bytes: 0 });
    store.handle('p', { op: 'put', key: 'clé', value: '"été"' });
    store.handle('p', { op: 'put', key: 'n', value: '12' });
    store.handle('q', { op: 'put', key: 'n', value: '1' });
    expect(store.usage('p')).toEqual({ keys: 2, bytes: 4 + 7 + 1 + 2 });
    const summed = db!.prepare('SELECT sum(octet_length(key) + octet_length(value)) AS bytes FROM plugin_data WHERE plugin = ?').get('p');
    expect(summed).toEqual({ bytes: store.usage('p').bytes });
    expect(store.clear('p')).toBe(2);
    expect(store.clear('p')).toBe(0);
    expect(store.usage('p')).toEqual({ keys: 0, bytes: 0 });
    expect(store.handle('p', { op: 'list', prefix: '', limit: 10 })).toEqual([]);
    expect(store.usage('q')).toEqual({ keys: 1, bytes: 2 });
    expect(usageRows()).toEqual([{ plugin: 'q', keys: 1, bytes: 2 }]);
  });
});
