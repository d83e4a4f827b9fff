import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from '../support.js';

/** A real Redis for a test file, and how to let it go. */
export interface TestRedis {
  url: string;
  /** A plain client for inspecting and cleaning keys. */
  client: Redis;
  stop(): Promise<void>;
}

const DEFAULT_URL = 'redis://127.0.0.1:6379';

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts a throwaway redis-server (no persistence) on a free port, or says why it could not.
 * For tests that kill their Redis; `child.kill('SIGKILL')` is a Redis dying.
 */
export async function spawnRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const failed = once(child, 'error').then(([error]) => error as Error);
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const outcome = await Promise.race([failed, new Promise((resolve) => setTimeout(resolve, 50, 'wait'))]);
    if (outcome instanceof Error) throw outcome;
    if (await answers(url)) return { url, child };
  }
  child.kill();
  throw new Error(`redis-server started on port ${port} but did not answer within 5 s`);
}

/**
 * A real Redis, never a mock and never a skip: HEARTH_TEST_REDIS_URL when set (it must answer),
 * else the one on 127.0.0.1:6379 when it answers, else a private redis-server started from PATH.
 * Without any of them the test fails, saying how to provide one.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const configured = process.env.HEARTH_TEST_REDIS_URL;
  let url: string;
  let child: ChildProcess | undefined;
  if (configured) {
    if (!(await answers(configured))) throw new Error(`HEARTH_TEST_REDIS_URL=${configured} does not answer PING: start that Redis or unset the variable`);
    url = configured;
  } else if (await answers(DEFAULT_URL)) {
    url = DEFAULT_URL;
  } else {
    try {
      ({ url, child } = await spawnRedis());
    } catch (error) {
      throw new Error(
        `these tests need a real Redis and found none: nothing answers on ${DEFAULT_URL} and redis-server could not be started ` +
          `(${error instanceof Error ? error.message : String(error)}). Install redis-server, start one on 6379, or set HEARTH_TEST_REDIS_URL.`,
      );
    }
  }
  const client = new Redis(url);
  client.on('error', () => {});
  return {
    url,
    client,
    async stop() {
      await client.quit();
      if (child) {
        child.kill();
        await once(child, 'exit');
      }
    },
  };
}

/** A prefix no other test (or application) uses, so tests never see each other's keys. */
export const uniquePrefix = () => `hearth-test-${randomUUID()}:`;

/** Deletes every key under `prefix`. */
export async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
