import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { QueueClosedError } from '../../src/jobs/job-queue.js';
import { bullKit, deferred, localKit, type QueueKit, recordEvents, stopTestRedis } from './queue-support.js';

afterAll(() => stopTestRedis());

/** The same semantics, checked against both implementations. */
describe.each([
  ['in-process', localKit],
  ['BullMQ (real Redis)', bullKit],
])('job queue, %s', (_name, makeKit) => {
  let kit: QueueKit;
  afterEach(() => kit.cleanup());

  it('keeps one job per id while it waits or runs, and runs a later duplicate again', async () => {
    kit = makeKit();
    const queue = await kit.make();
    const events = recordEvents(queue);
    const runs: string[] = [];
    const gate = deferred();
    expect(await queue.add('telegram:9:1', { n: 1 })).toBe(true);
    expect(await queue.add('telegram:9:1', { n: 2 })).toBe(false);
    await queue.process(
      async (job) => {
        runs.push(`${job.id}=${job.data.n}`);
        await gate.promise;
      },
      { concurrency: 2 },
    );
    await expect.poll(() => runs.length).toBe(1);
    expect(await queue.add('telegram:9:1', { n: 3 })).toBe(false);
    gate.resolve();
    await expect.poll(() => events.completed.length).toBe(1);

    // A redelivery after the job finished is new work (the pipeline answers it from disk).
    expect(await queue.add('telegram:9:1', { n: 4 })).toBe(true);
    await expect.poll(() => events.completed.length).toBe(2);
    expect(runs).toEqual(['telegram:9:1=1', 'telegram:9:1=4']);
  });

  it('starts jobs in the order they were added', async () => {
    kit = makeKit();
    const queue = await kit.make();
    const events = recordEvents(queue);
    const order: number[] = [];
    for (let n = 1; n <= 5; n++) await queue.add(`job-${n}`, { n });
    await queue.process(async (job) => void order.push(job.data.n), { concurrency: 1 });
    await expect.poll(() => events.completed.length).toBe(5);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });

  it('never runs more than `concurrency` jobs at once', async () => {
    kit = makeKit();
    const queue = await kit.make();
    const gates = new Map<string, () => void>();
    let current = 0;
    let most = 0;
    for (let n = 1; n <= 8; n++) await queue.add(`job-${n}`, { n });
    await queue.process(
      async (job) => {
        current++;
        most = Math.max(most, current);
        const gate = deferred();
        gates.set(job.id, gate.resolve);
        await gate.promise;
        current--;
      },
      { concurrency: 3 },
    );
    await expect.poll(() => gates.size).toBe(3);
    expect(await queue.counts()).toMatchObject({ running: 3, waiting: 5 });
    // Let them go one at a time: each frees one slot, which one waiting job takes.
    for (let released = 0; released < 8; released++) {
      await expect.poll(() => gates.size).toBeGreaterThan(released);
      [...gates.values()][released]!();
    }
    await expect.poll(() => queue.counts()).toMatchObject({ running: 0, waiting: 0, active: 0 });
    expect(gates.size).toBe(8);
    expect(most).toBe(3);
  });

  it('retries a failed job after an exponential backoff, until it succeeds', async () => {
    kit = makeKit();
    const queue = await kit.make({ attempts: 3, backoffMs: 200 });
    const events = recordEvents(queue);
    const attempts: number[] = [];
    await queue.process(
      async (job) => {
        attempts.push(job.attempt);
        if (job.attempt < 3) throw new Error(`flaky ${job.attempt}`);
      },
      { concurrency: 1 },
    );
    await queue.add('telegram:9:2', { n: 1 });
    await expect.poll(() => events.retrying.length).toBe(1);
    // Waiting out its backoff: not running, not lost.
    expect(await queue.counts()).toMatchObject({ waiting: 1, running: 0 });

    await expect.poll(() => events.completed.length, { timeout: 5_000 }).toBe(1);
    expect(attempts).toEqual([1, 2, 3]);
    expect(events.retrying.map((r) => [r.job.attempt, r.error, r.delayMs])).toEqual([
      [1, 'flaky 1', 200],
      [2, 'flaky 2', 400],
    ]);
    expect(events.completed[0]).toMatchObject({ id: 'telegram:9:2', attempt: 3, data: { n: 1 } });
    expect(events.failed).toEqual([]);
  });

  it('reports a job that fails on its last attempt, once, and takes its id again afterwards', async () => {
    kit = makeKit();
    const queue = await kit.make({ attempts: 2, backoffMs: 10 });
    const events = recordEvents(queue);
    await queue.process(async () => Promise.reject(new Error('model crashed')), { concurrency: 1 });
    await queue.add('telegram:9:3', { n: 1 });
    await expect.poll(() => events.failed.length).toBe(1);
    expect(events.failed[0]).toMatchObject({ job: { id: 'telegram:9:3', attempt: 2 }, error: 'model crashed' });
    expect(events.retrying).toHaveLength(1);
    expect(events.completed).toEqual([]);

    expect(await queue.add('telegram:9:3', { n: 2 })).toBe(true);
    await expect.poll(() => events.failed.length).toBe(2);
  });

  it('closes gracefully: the running job finishes, no other starts, the waiting ones are left for later', async () => {
    kit = makeKit();
    const queue = await kit.make();
    const events = recordEvents(queue);
    const ran: string[] = [];
    const gate = deferred();
    for (const id of ['a', 'b', 'c']) await queue.add(id, { n: 1 });
    let finished = false;
    await queue.process(
      async (job) => {
        ran.push(job.id);
        await gate.promise;
        finished = true;
      },
      { concurrency: 1 },
    );
    await expect.poll(() => ran).toEqual(['a']);

    // However early close resolves, it tells whether the running job had finished by then.
    let closedAfterTheJob: boolean | undefined;
    const closing = queue.dispose({ timeoutMs: 10_000 }).finally(() => {
      closedAfterTheJob = finished;
    });
    // The scenario: the job runs on a while after close was asked; the flag, not this pause, is the check.
    await sleep(50);
    gate.resolve();
    const report = await closing;
    expect(closedAfterTheJob).toBe(true);
    expect(events.completed.map((job) => job.id)).toEqual(['a']);
    expect(ran).toEqual(['a']);
    expect(report.abandoned).toEqual([]);
    await expect(queue.add('d', { n: 1 })).rejects.toBeInstanceOf(QueueClosedError);

    if (queue.kind === 'local') {
      // In-process jobs die with the process: handed back, for the caller to release.
      expect(report.returned.map((job) => job.id)).toEqual(['b', 'c']);
    } else {
      // In Redis they wait for another core: a second instance on the queue takes them.
      expect(report.returned).toEqual([]);
      const other = await kit.make();
      const otherEvents = recordEvents(other);
      expect(await other.counts()).toMatchObject({ waiting: 2, active: 0 });
      await other.process(async (job) => void ran.push(job.id), { concurrency: 1 });
      await expect.poll(() => otherEvents.completed.length).toBe(2);
      expect(ran).toEqual(['a', 'b', 'c']);
    }
  });

  it('abandons a job still running at the close timeout: its signal is aborted and it is not lost', async () => {
    kit = makeKit();
    const queue = await kit.make({ attempts: 3, backoffMs: 10 });
    let signal: AbortSignal | undefined;
    for (const id of ['stuck', 'next']) await queue.add(id, { n: 1 });
    await queue.process(
      async (job) => {
        signal = job.signal;
        await new Promise(() => {}); // ignores its signal: the worst case
      },
      { concurrency: 1 },
    );
    await expect.poll(() => signal).toBeDefined();

    const report = await queue.dispose({ timeoutMs: 200 });
    expect(signal?.aborted).toBe(true);
    expect(report.abandoned.map((job) => job.id)).toEqual(['stuck']);

    if (queue.kind === 'local') {
      expect(report.returned.map((job) => job.id)).toEqual(['next']);
    } else {
      // Given back to the queue without spending an attempt: another core runs it afresh.
      const other = await kit.make();
      const events = recordEvents(other);
      await other.process(async () => {}, { concurrency: 1 });
      await expect.poll(() => events.completed.length).toBe(2);
      expect(events.completed.map((job) => [job.id, job.attempt]).sort()).toEqual([
        ['next', 1],
        ['stuck', 1],
      ]);
    }
  });
});
