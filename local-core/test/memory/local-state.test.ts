import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { SqliteStateStore } from '../../src/memory/local-state.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('SqliteStateStore (sessions on L3 when there is no Redis)', () => {
  it('expires a session after its TTL without use, restarting the timer on each read, and prunes it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(1_000_000);
    const db = openDatabase(':memory:');
    const store = new SqliteStateStore(db, { sessionTtlSeconds: 60 });
    await store.updateSession('telegram:1', () => ({ generation: 1, updatedAt: Date.now() }));
    await store.updateSession('telegram:2', () => ({ generation: 1, updatedAt: Date.now() }));

    vi.setSystemTime(1_000_000 + 50_000);
    expect(await store.session('telegram:1')).toBeDefined(); // read: idle timer restarts
    vi.setSystemTime(1_000_000 + 100_000);
    expect(await store.session('telegram:1')).toBeDefined();
    expect(await store.session('telegram:2')).toBeUndefined();
    // Expired sessions do not feed a read-modify-write either.
    expect(await store.updateSession('telegram:2', (current) => ({ generation: current?.generation ?? 0, updatedAt: Date.now() }))).toMatchObject({
      generation: 0,
    });

    vi.setSystemTime(1_000_000 + 500_000);
    expect(store.prune(Date.now())).toBe(2);
    expect(db.prepare('SELECT count(*) AS n FROM sessions').get()).toEqual({ n: 0 });
    db.close();
  });
});
