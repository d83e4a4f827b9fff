import { describe, expect, it } from 'vitest';
import { creditWindow, MAX_CREDITS, queueCreditWindow } from '../../src/jobs/credits.js';
import { LocalJobQueue } from '../../src/jobs/local-queue.js';

describe('creditWindow', () => {
  it.each([
    ['an idle core grants its sequences', { sequences: 4, running: 0, waiting: 0, held: 0 }, 4],
    ['work in progress stays in the window (it is absolute)', { sequences: 4, running: 1, waiting: 0, held: 1 }, 4],
    ['every sequence busy: only what it holds', { sequences: 4, running: 4, waiting: 0, held: 4 }, 4],
    ['queued jobs take the free sequences first', { sequences: 4, running: 1, waiting: 2, held: 3 }, 4],
    ['a backlog in the shared queue: nothing new for this core', { sequences: 4, running: 0, waiting: 9, held: 0 }, 0],
    ['jobs this core runs for another core count against it', { sequences: 4, running: 3, waiting: 0, held: 0 }, 1],
    ['never more than the Relay accepts', { sequences: 64, running: 0, waiting: 0, held: 20_000 }, MAX_CREDITS],
  ])('%s', (_why, capacity, expected) => {
    expect(creditWindow(capacity)).toBe(expected);
  });

  it('follows a queue’s live counts', async () => {
    const queue = new LocalJobQueue<number>({ attempts: 1, backoffMs: 0 });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await queue.process(() => gate, { concurrency: 2 });
    for (const id of ['a', 'b', 'c']) await queue.add(id, 1);
    // Two running, one waiting for them: holding three, nothing free.
    expect(await queue.counts()).toEqual({ waiting: 1, active: 2, running: 2 });
    expect(await queueCreditWindow(queue, { sequences: 2, held: 3 })).toBe(3);
    release();
    await expect.poll(() => queue.counts()).toEqual({ waiting: 0, active: 0, running: 0 });
    expect(await queueCreditWindow(queue, { sequences: 2, held: 0 })).toBe(2);
    await queue.dispose();
  });
});
