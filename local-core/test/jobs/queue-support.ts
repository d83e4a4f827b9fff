import { randomUUID } from 'node:crypto';
import { BullJobQueue } from '../../src/jobs/bullmq-queue.js';
import type { JobQueue, QueuedJob, RetryPolicy } from '../../src/jobs/job-queue.js';
import { LocalJobQueue } from '../../src/jobs/local-queue.js';
import { silentLogger } from '../support.js';
import { deleteKeys, startTestRedis, type TestRedis } from '../memory/redis-support.js';

export interface Payload {
  n: number;
}

/** A promise and its resolver, for holding a handler until the test lets it go. */
export function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Everything a queue reported, in order. */
export function recordEvents(queue: JobQueue<Payload>) {
  const events = {
    completed: [] as QueuedJob<Payload>[],
    retrying: [] as { job: QueuedJob<Payload>; error: string; delayMs: number }[],
    failed: [] as { job: QueuedJob<Payload>; error: string }[],
  };
  queue.on('completed', (job) => events.completed.push(job));
  queue.on('retrying', (job, error, delayMs) => events.retrying.push({ job, error: error.message, delayMs }));
  queue.on('failed', (job, error) => events.failed.push({ job, error: error.message }));
  return events;
}

/**
 * Makes queues of one kind for one test: every queue it makes shares one name (so BullMQ ones
 * share the work, like cores on one Redis) under a key prefix no other test uses. `cleanup`
 * closes them all and deletes their keys.
 */
export interface QueueKit {
  make(retry?: RetryPolicy): Promise<JobQueue<Payload>>;
  cleanup(): Promise<void>;
}

let redis: Promise<TestRedis> | undefined;

/** The shared real Redis of this test file (started on first use); stop it in afterAll. */
export function testRedis(): Promise<TestRedis> {
  redis ??= startTestRedis();
  return redis;
}

export async function stopTestRedis(): Promise<void> {
  await (await redis)?.stop();
  redis = undefined;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 1, backoffMs: 0 };

export function localKit(): QueueKit {
  const queues: JobQueue<Payload>[] = [];
  return {
    async make(retry = DEFAULT_RETRY) {
      const queue = new LocalJobQueue<Payload>(retry);
      queues.push(queue);
      return queue;
    },
    async cleanup() {
      await Promise.all(queues.map((queue) => queue.dispose({ timeoutMs: 1_000 })));
    },
  };
}

export function bullKit(): QueueKit {
  const queues: JobQueue<Payload>[] = [];
  const prefix = `hearth-test-${randomUUID()}`;
  const name = `q-${randomUUID()}`;
  return {
    async make(retry = DEFAULT_RETRY) {
      const { url } = await testRedis();
      const queue = await BullJobQueue.connect<Payload>({ redisUrl: url, name, prefix, retry, log: silentLogger() });
      queues.push(queue);
      return queue;
    },
    async cleanup() {
      await Promise.all(queues.map((queue) => queue.dispose({ timeoutMs: 1_000 })));
      if (redis) await deleteKeys((await redis).client, `${prefix}:`);
    },
  };
}
