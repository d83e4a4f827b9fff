import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectRedis, quitRedis, RedisError, redactRedisUrl } from '../../src/memory/redis.js';
import { SessionStore } from '../../src/memory/session-store.js';
import { capturingLogger, silentLogger } from '../support.js';
import { deleteKeys, startTestRedis, type TestRedis, uniquePrefix } from './redis-support.js';

let redis: TestRedis;
beforeAll(async () => {
  redis = await startTestRedis();
});
afterAll(() => redis?.stop());

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(sessionTtlSeconds = 3_600) {
  const prefix = uniquePrefix();
  const connection = await connectRedis(redis.url, { name: 'test', log: silentLogger() });
  cleanups.push(async () => {
    await deleteKeys(redis.client, prefix);
    await quitRedis(connection);
  });
  return { prefix, connection, store: new SessionStore(connection, { url: redis.url, prefix, sessionTtlSeconds }) };
}

describe('SessionStore (L2, real Redis)', () => {
  it('keeps sessions as JSON under its prefix, with a TTL', async () => {
    const { prefix, store } = await openStore(600);
    await store.updateSession('telegram:1', () => ({ generation: 2, summary: 'hello', updatedAt: 1 }));

    expect((await redis.client.keys(`${prefix}*`)).sort()).toEqual([`${prefix}session:telegram:1`]);
    expect(JSON.parse((await redis.client.get(`${prefix}session:telegram:1`)) ?? 'null')).toEqual({ generation: 2, summary: 'hello', updatedAt: 1 });
    const ttl = await redis.client.ttl(`${prefix}session:telegram:1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
  });

  it('restarts a session’s idle timer each time it is read', async () => {
    const { store } = await openStore(600);
    await store.updateSession('telegram:1', () => ({ generation: 0, updatedAt: 1 }));
    const key = store.sessionKey('telegram:1');
    await redis.client.expire(key, 5);
    expect(await store.session('telegram:1')).toEqual({ generation: 0, updatedAt: 1 });
    expect(await redis.client.ttl(key)).toBeGreaterThan(5);
  });

  it('forgets a session once its TTL has passed', async () => {
    const { store } = await openStore(600);
    await store.updateSession('telegram:1', () => ({ generation: 4, updatedAt: 1 }));
    await redis.client.pexpire(store.sessionKey('telegram:1'), 1);
    await expect.poll(() => redis.client.exists(store.sessionKey('telegram:1'))).toBe(0);
    expect(await store.session('telegram:1')).toBeUndefined();
  });

  it('fails a command with an error naming REDIS_URL once the connection is gone, without crashing', async () => {
    const { connection, store } = await openStore();
    expect(connection.listenerCount('error')).toBeGreaterThan(0);
    connection.disconnect();
    const read = store.session('telegram:1');
    await expect(read).rejects.toBeInstanceOf(RedisError);
    await expect(read).rejects.toThrow(/REDIS_URL.*failed to read .*session:telegram:1/);
  });
});

describe('connectRedis', () => {
  it('refuses to start without a reachable Redis, naming REDIS_URL and hiding the password', async () => {
    const { log, lines } = capturingLogger('error');
    const url = 'redis://hearth:s3cret@127.0.0.1:1';
    const connecting = connectRedis(url, { name: 'test', log, connectTimeoutMs: 1_000 });
    await expect(connecting).rejects.toMatchObject({ name: 'RedisError', code: 'redis_unreachable' });
    await expect(connecting).rejects.toThrow(/cannot reach Redis at redis:\/\/hearth:\*\*\*@127\.0\.0\.1:1.*\(REDIS_URL\).*unset it/);
    expect(lines.join('')).not.toContain('s3cret');
    expect(redactRedisUrl(url)).toBe('redis://hearth:***@127.0.0.1:1');
  });
});
