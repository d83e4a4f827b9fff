import { describe, expect, it } from 'vitest';
import { LocalJobQueue } from '../../src/jobs/local-queue.js';
import { deferred } from './queue-support.js';

describe('LocalJobQueue', () => {
  it('hands the handler a JSON copy, as BullMQ would: later changes by the caller do not leak in', async () => {
    const queue = new LocalJobQueue<{ tags: string[]; at?: Date }>({ attempts: 1, backoffMs: 0 });
    const seen = deferred<unknown>();
    const data = { tags: ['a'] };
    await queue.add('one', data);
    data.tags.push('b');
    await queue.process(async (job) => seen.resolve(job.data), { concurrency: 1 });
    expect(await seen.promise).toEqual({ tags: ['a'] });
    await queue.dispose();
  });

  it('hands back a job that failed during close instead of retrying it after', async () => {
    const queue = new LocalJobQueue<number>({ attempts: 3, backoffMs: 60_000 });
    const failNow = deferred();
    await queue.process(async () => {
      await failNow.promise;
      throw new Error('interrupted');
    }, { concurrency: 1 });
    await queue.add('a', 1);
    await expect.poll(() => queue.counts()).toMatchObject({ running: 1 });
    const closing = queue.dispose({ timeoutMs: 5_000 });
    failNow.resolve();
    const report = await closing;
    expect(report).toEqual({ returned: [{ id: 'a', data: 1, attempt: 2 }], abandoned: [] });
    expect(await queue.counts()).toEqual({ waiting: 0, active: 0, running: 0 });
  });

  it('checks its settings at construction', () => {
    expect(() => new LocalJobQueue({ attempts: 0, backoffMs: 0 })).toThrow(/attempts must be a whole number of at least 1/);
    const queue = new LocalJobQueue({ attempts: 1, backoffMs: 0 });
    return expect(queue.process(async () => {}, { concurrency: 0 })).rejects.toThrow(/concurrency/);
  });
});
