import { describe, expect, it } from 'vitest';
import { KeyedQueue } from '../../src/mqtt/keyed-queue.js';

/** A job that runs until the test lets it finish, recording when it started. */
function gatedJobs() {
  const started: string[] = [];
  const finish = new Map<string, () => void>();
  const job = (name: string) => () =>
    new Promise<void>((resolve) => {
      started.push(name);
      finish.set(name, resolve);
    });
  const release = (name: string) => {
    const resolve = finish.get(name);
    if (!resolve) throw new Error(`${name} has not started`);
    resolve();
  };
  return { started, job, release };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedQueue', () => {
  it('runs one job per key at a time, in order, and keys in parallel', async () => {
    const { started, job, release } = gatedJobs();
    const queue = new KeyedQueue(4, () => {});
    queue.push('a', job('a1'));
    queue.push('a', job('a2'));
    queue.push('b', job('b1'));
    await settle();
    expect(started).toEqual(['a1', 'b1']);
    expect(queue.size).toBe(3);
    release('a1');
    await settle();
    expect(started).toEqual(['a1', 'b1', 'a2']);
    release('a2');
    release('b1');
    await queue.whenIdle();
    expect(queue.size).toBe(0);
  });

  it('runs at most `concurrency` jobs at once, first come first served', async () => {
    const { started, job, release } = gatedJobs();
    const queue = new KeyedQueue(2, () => {});
    for (const key of ['a', 'b', 'c', 'd']) queue.push(key, job(key));
    await settle();
    expect(started).toEqual(['a', 'b']);
    release('b');
    await settle();
    expect(started).toEqual(['a', 'b', 'c']);
    release('a');
    await settle();
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    release('c');
    release('d');
    await queue.whenIdle();
  });

  it('reports a failed job and goes on with the next of its key', async () => {
    const failures: [string, string][] = [];
    const ran: string[] = [];
    const settled: number[] = [];
    const queue = new KeyedQueue(
      1,
      (error, key) => failures.push([key, error instanceof Error ? error.message : String(error)]),
      () => settled.push(queue.size),
    );
    queue.push('a', async () => {
      throw new Error('boom');
    });
    queue.push('a', async () => {
      ran.push('a2');
    });
    await queue.whenIdle();
    expect(failures).toEqual([['a', 'boom']]);
    expect(ran).toEqual(['a2']);
    expect(settled).toEqual([1, 0]);
  });

  it('refuses a concurrency below 1', () => {
    expect(() => new KeyedQueue(0, () => {})).toThrow(RangeError);
  });
});
