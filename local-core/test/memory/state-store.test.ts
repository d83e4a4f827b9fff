import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { SqliteStateStore } from '../../src/memory/local-state.js';
import { SessionStore } from '../../src/memory/session-store.js';
import { type StateStore, StoredStateError } from '../../src/memory/state.js';
import { connectRedis, quitRedis } from '../../src/memory/redis.js';
import { deleteKeys, startTestRedis, type TestRedis, uniquePrefix } from './redis-support.js';
import { silentLogger } from '../support.js';

/** A store under test, a way to plant a bad value in it, and its teardown. */
interface Fixture {
  store: StateStore;
  corruptSession(conversationId: string, raw: string): Promise<void>;
  close(): Promise<void>;
}

let redis: Promise<TestRedis> | undefined;
afterAll(async () => (await redis)?.stop());

const fixtures: [string, () => Promise<Fixture>][] = [
  [
    'SQLite (L3)',
    async () => {
      const db = openDatabase(':memory:');
      return {
        store: new SqliteStateStore(db, { sessionTtlSeconds: 3_600 }),
        corruptSession: async (id, raw) => void db.prepare('UPDATE sessions SET value = ? WHERE conversation_id = ?').run(raw, id),
        close: async () => {
          db.close();
        },
      };
    },
  ],
  [
    'Redis (L2)',
    async () => {
      redis ??= startTestRedis();
      const { url, client } = await redis;
      const prefix = uniquePrefix();
      const connection = await connectRedis(url, { name: 'test', log: silentLogger() });
      const store = new SessionStore(connection, { url, prefix, sessionTtlSeconds: 3_600 });
      return {
        store,
        corruptSession: async (id, raw) => void (await client.set(store.sessionKey(id), raw)),
        close: async () => {
          await deleteKeys(client, prefix);
          await quitRedis(connection);
        },
      };
    },
  ],
];

describe.each(fixtures)('state store on %s', (_name, open) => {
  let fixture: Fixture;
  afterEach(() => fixture.close());

  it('stores, validates and returns sessions', async () => {
    fixture = await open();
    const { store } = fixture;
    expect(await store.session('telegram:1')).toBeUndefined();
    const written = await store.updateSession('telegram:1', (current) => ({ generation: (current?.generation ?? 0) + 1, variant: 'b', updatedAt: 5 }));
    expect(written).toEqual({ generation: 1, variant: 'b', updatedAt: 5 });
    expect(await store.session('telegram:1')).toEqual(written);
    expect(await store.session('telegram:2')).toBeUndefined();
  });

  it('carries fields it does not know through a read-modify-write (a newer core may have added them)', async () => {
    fixture = await open();
    const { store } = fixture;
    await fixture.store.updateSession('telegram:1', () => ({ generation: 0, updatedAt: 1 }));
    await fixture.corruptSession('telegram:1', JSON.stringify({ generation: 3, updatedAt: 1, mood: 'cheerful' }));
    await store.updateSession('telegram:1', (current) => ({ ...current, generation: current?.generation ?? 0, summary: 'so far', updatedAt: 2 }));
    expect(await store.session('telegram:1')).toEqual({ generation: 3, updatedAt: 2, summary: 'so far', mood: 'cheerful' });
  });

  it('refuses to store a value it could not read back, and keeps the old one', async () => {
    fixture = await open();
    const { store } = fixture;
    await store.updateSession('telegram:1', () => ({ generation: 1, updatedAt: 1 }));
    await expect(store.updateSession('telegram:1', () => ({ generation: 2, summary: 'x'.repeat(20_000), updatedAt: 2 }))).rejects.toThrow();
    expect(await store.session('telegram:1')).toEqual({ generation: 1, updatedAt: 1 });
  });

  it('reports a stored value of the wrong shape as an error naming where it is, not as absent', async () => {
    fixture = await open();
    const { store } = fixture;
    await store.updateSession('telegram:9', () => ({ generation: 1, updatedAt: 1 }));
    await fixture.corruptSession('telegram:9', '{"generation":"many"}');
    const read = store.session('telegram:9');
    await expect(read).rejects.toBeInstanceOf(StoredStateError);
    await expect(read).rejects.toThrow(/telegram:9.*generation/);
    await fixture.corruptSession('telegram:9', 'not json');
    await expect(store.updateSession('telegram:9', () => ({ generation: 2, updatedAt: 2 }))).rejects.toThrow(/not JSON/);
  });

  it('applies concurrent read-modify-writes one after the other, losing none', async () => {
    fixture = await open();
    const { store } = fixture;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        store.updateSession('telegram:42', (current) => ({ generation: 0, count: Number(current?.count ?? 0) + 1, updatedAt: Date.now() })),
      ),
    );
    expect((await store.session('telegram:42'))?.count).toBe(20);
  });
});
