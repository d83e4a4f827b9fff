import type { EventEmitter } from 'node:events';
import { backoffMs, HearthError } from '@hearth/shared';

/** A job as handlers and listeners see it. `data` is JSON: it goes through Redis as such. */
export interface QueuedJob<T> {
  readonly id: string;
  readonly data: T;
  /** Which run this is (or was): 1 for the first, 2 for the first retry, ... */
  readonly attempt: number;
}

export interface JobContext<T> extends QueuedJob<T> {
  /** Aborted when the queue gives up on this run (a close past its timeout, a lost lock). */
  readonly signal: AbortSignal;
}

/** Does the work; a rejection is a failed attempt, retried with backoff while attempts remain. */
export type JobHandler<T> = (job: JobContext<T>) => Promise<void>;

export interface JobCounts {
  /** Jobs not running: queued, or waiting out a retry backoff. With BullMQ, in the whole shared queue. */
  waiting: number;
  /** Jobs running. With BullMQ, on every core sharing the queue. */
  active: number;
  /** Jobs this instance's handler is running now. */
  running: number;
}

export interface RetryPolicy {
  /** Runs of a job before it fails for good (1 = no retry). */
  attempts: number;
  /** Delay before the first retry; each further retry waits twice as long as the previous one. */
  backoffMs: number;
}

export interface DisposeOptions {
  /** How long running jobs may take to finish before they are abandoned. Default 30 s. */
  timeoutMs?: number;
}

export interface DisposeReport<T> {
  /**
   * Jobs that had not run, or were waiting to be retried, handed back so the caller can release
   * them (for deliveries: leave them unacked, so the Relay gives them to a core again). Always
   * empty for BullMQ: those stay in Redis for the other cores, or this one when it comes back.
   */
  returned: QueuedJob<T>[];
  /** Jobs still running at the timeout: their signal was aborted and nothing they do counts. */
  abandoned: QueuedJob<T>[];
}

export interface JobQueueEvents<T> {
  completed: [job: QueuedJob<T>];
  /** An attempt failed and the job will run again after `delayMs`. */
  retrying: [job: QueuedJob<T>, error: Error, delayMs: number];
  /** The last attempt failed: the job is given up. */
  failed: [job: QueuedJob<T>, error: Error];
}

/**
 * A queue of jobs with unique ids, worked by a handler at a bounded concurrency: BullMQ on Redis
 * (shared by every core pointed at it) or in this process, with the same semantics:
 * - `add` with an id already waiting, retrying or running is ignored (one job per id);
 * - jobs start in the order added (FIFO), at most `concurrency` at once in this process;
 * - a failed attempt is retried after `backoffMs * 2^(attempt - 1)`, until `attempts` runs;
 * - `dispose` lets running jobs finish (within a timeout) and starts no new one.
 */
export interface JobQueue<T> extends EventEmitter<JobQueueEvents<T>>, AsyncDisposable {
  readonly kind: 'local' | 'bullmq';
  /** Queues a job; false when a job with this id is already waiting, retrying or running. */
  add(id: string, data: T): Promise<boolean>;
  /** Starts working the queue with `handler`, at most `concurrency` jobs at once. Once per queue. */
  process(handler: JobHandler<T>, options: { concurrency: number }): Promise<void>;
  counts(): Promise<JobCounts>;
  /**
   * Stops taking jobs, waits for running ones (up to the timeout), then frees its connections.
   * A second call resolves with the first's report, whatever its timeout.
   */
  dispose(options?: DisposeOptions): Promise<DisposeReport<T>>;
}

/** The wait before retry number `attemptsMade` (1 after the first failure): BullMQ's exponential backoff. */
export function retryDelay(attemptsMade: number, baseMs: number): number {
  return backoffMs(attemptsMade - 1, { baseMs });
}

/** Checks a retry policy and a concurrency once, at construction, with messages that say what is wrong. */
export function checkPositiveInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be a whole number of at least ${min}, not ${value}`);
}

/** True when `promise` settles within `ms`, false when the time runs out first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    const settled = promise.then(
      () => true,
      () => true,
    );
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A job was added to, or a handler given to, a queue that is closing or closed. */
export class QueueClosedError extends HearthError {
  override readonly name = 'QueueClosedError';
  constructor(queue: string) {
    super('queue_closed', `the job queue ${queue} is closed`);
  }
}
