import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullJobQueue, idOfJobId, jobIdFor } from '../../src/jobs/bullmq-queue.js';
import { createJobQueue } from '../../src/jobs/create-queue.js';
import { RedisError } from '../../src/memory/redis.js';
import { spawnRedis } from '../memory/redis-support.js';
import { capturingLogger, silentLogger } from '../support.js';
import { bullKit, deferred, type QueueKit, recordEvents, stopTestRedis, testRedis } from './queue-support.js';

afterAll(() => stopTestRedis());

let kit: QueueKit;
afterEach(() => kit?.cleanup());

describe('BullJobQueue (real Redis)', () => {
  it('shares the work between instances on one queue, as cores on one Redis do, each job once', async () => {
    kit = bullKit();
    const coreA = await kit.make();
    const coreB = await kit.make();
    const ranBy = new Map<string, string[]>([
      ['A', []],
      ['B', []],
    ]);
    // The first job holds its core until a second job runs elsewhere: only the other core can take it.
    const bothBusy = deferred();
    let inFlight = 0;
    const worker = (core: string) => async (job: { id: string }) => {
      ranBy.get(core)!.push(job.id);
      if (++inFlight === 2) bothBusy.resolve();
      await bothBusy.promise;
      inFlight--;
    };
    const events = [recordEvents(coreA), recordEvents(coreB)];
    for (let n = 1; n <= 6; n++) await coreA.add(`telegram:7:${n}`, { n });
    await coreA.process(worker('A'), { concurrency: 1 });
    await coreB.process(worker('B'), { concurrency: 1 });

    await expect.poll(() => events[0]!.completed.length + events[1]!.completed.length).toBe(6);
    const all = [...ranBy.get('A')!, ...ranBy.get('B')!].sort();
    expect(all).toEqual(['telegram:7:1', 'telegram:7:2', 'telegram:7:3', 'telegram:7:4', 'telegram:7:5', 'telegram:7:6']);
    expect(ranBy.get('A')!.length).toBeGreaterThan(0);
    expect(ranBy.get('B')!.length).toBeGreaterThan(0);
  });

  it('takes ids BullMQ itself refuses (colons, integers) and hands the handler the original id', async () => {
    kit = bullKit();
    const queue = await kit.make();
    const events = recordEvents(queue);
    const ids = ['telegram:42', 'whatsapp:15551234567:wamid.HBg=', '12345', 'a:b:c:d'];
    for (const id of ids) {
      expect(idOfJobId(jobIdFor(id))).toBe(id);
      expect(jobIdFor(id)).not.toContain(':');
      expect(await queue.add(id, { n: 1 })).toBe(true);
      expect(await queue.add(id, { n: 2 })).toBe(false);
    }
    await queue.process(async () => {}, { concurrency: 2 });
    await expect.poll(() => events.completed.length).toBe(ids.length);
    expect(events.completed.map((job) => job.id).sort()).toEqual([...ids].sort());
  });

  it('stores the payload as the JSON it was given, nothing added (sealed deliveries stay sealed)', async () => {
    const { url, client } = await testRedis();
    const prefix = `hearth-test-${randomUUID()}`;
    const name = `q-${randomUUID()}`;
    const queue = await BullJobQueue.connect<{ sealed: string }>({ redisUrl: url, name, prefix, retry: { attempts: 1, backoffMs: 0 }, log: silentLogger() });
    try {
      await queue.add('telegram:1:1', { sealed: 'eyJhbGciOi...' });
      expect(await client.hget(`${prefix}:${name}:${jobIdFor('telegram:1:1')}`, 'data')).toBe('{"sealed":"eyJhbGciOi..."}');
    } finally {
      await queue.dispose();
      await client.del(...(await client.keys(`${prefix}:*`)));
    }
  });

  it('refuses to start on a Redis that does not answer, naming REDIS_URL', async () => {
    const connecting = BullJobQueue.connect({ redisUrl: 'redis://127.0.0.1:1', name: 'q', prefix: 'p', retry: { attempts: 1, backoffMs: 0 }, log: silentLogger() });
    await expect(connecting).rejects.toBeInstanceOf(RedisError);
    await expect(connecting).rejects.toThrow(/REDIS_URL/);
  });
});

describe('createJobQueue', () => {
  const base = { prefix: `hearth-test-${randomUUID()}`, queueName: `q-${randomUUID()}`, retry: { attempts: 1, backoffMs: 0 }, shutdownTimeoutMs: 1_000 };

  it('builds the in-process queue without REDIS_URL and BullMQ with it', async () => {
    const local = await createJobQueue<number>({ ...base, redisUrl: undefined }, silentLogger());
    expect(local.kind).toBe('local');
    await local.dispose();

    const { url, client } = await testRedis();
    const shared = await createJobQueue<number>({ ...base, redisUrl: url }, silentLogger());
    expect(shared.kind).toBe('bullmq');
    expect(await shared.add('x', 1)).toBe(true);
    expect(await client.exists(`${base.prefix}:${base.queueName}:${jobIdFor('x')}`)).toBe(1);
    await shared.dispose();
    await client.del(...(await client.keys(`${base.prefix}:*`)));
  });
});

describe('BullJobQueue when Redis dies', () => {
  it('reports failures naming REDIS_URL without crashing, and still closes', async () => {
    const { url, child } = await spawnRedis();
    const exited = once(child, 'exit');
    const { log, lines } = capturingLogger('warn');
    const queue = await BullJobQueue.connect<number>({ redisUrl: url, name: 'q', prefix: 'p', retry: { attempts: 1, backoffMs: 0 }, log });
    try {
      await queue.process(async () => {}, { concurrency: 1 });
      child.kill('SIGKILL');
      await exited;

      await expect(queue.add('telegram:1:1', 1)).rejects.toThrow(/Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\) failed to queue job telegram:1:1/);
      await expect.poll(() => lines.join('')).toMatch(/REDIS_URL.*ECONNREFUSED/);
      // Closing needs Redis for nothing that matters any more: it gives up on it and returns.
      expect(await queue.dispose({ timeoutMs: 500 })).toEqual({ returned: [], abandoned: [] });
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
