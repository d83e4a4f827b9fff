import { EventEmitter } from 'node:events';
import { type Job, Queue, WaitingError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { connectRedis, quitRedis, redisFailure, throttledErrorLog } from '../memory/redis.js';
import {
  type DisposeOptions,
  type DisposeReport,
  checkPositiveInteger,
  type JobCounts,
  type JobHandler,
  type JobQueue,
  type JobQueueEvents,
  type QueuedJob,
  QueueClosedError,
  type RetryPolicy,
  retryDelay,
  settlesWithin,
} from './job-queue.js';

export interface BullJobQueueOptions {
  redisUrl: string;
  /** The queue's name: cores sharing a Redis and a name share the work. No colon. */
  name: string;
  /** Key prefix (BullMQ adds the colon): `hearth` → `hearth:<name>:wait`. */
  prefix: string;
  retry: RetryPolicy;
  log: Logger;
  /** This worker's name in BullMQ's records (e.g. the core id), to see which core ran a job. */
  workerName?: string;
  /**
   * How long a job's lock lasts (renewed at half of it while the job runs). A core that dies
   * mid-job loses the lock after this and another core's stalled check puts the job back.
   */
  lockDurationMs?: number;
}

/** Finished jobs kept for inspection, bounded (BullMQ counts ages in seconds). */
const KEEP_COMPLETED = { count: 1_000, age: 24 * 3600 };
const KEEP_FAILED = { count: 5_000, age: 7 * 24 * 3600 };
const JOB_NAME = 'job';
/** How long closing may wait on Redis once no job runs; past it (Redis gone) connections are cut. */
const DISCONNECT_GRACE_MS = 2_000;

/**
 * BullMQ refuses ids with a colon and ids that are integers, and message ids are
 * `telegram:42:7`: an injective, reversible encoding keeps the caller's id as the job's identity.
 */
export const jobIdFor = (id: string): string => `id-${encodeURIComponent(id)}`;
export const idOfJobId = (jobId: string): string => decodeURIComponent(jobId.slice('id-'.length));

type BullJob<T> = Job<T, void, string>;
/** Every type parameter spelled out: BullMQ cannot infer them from a generic `T`. */
type BullQueue<T> = Queue<T, void, string, T, void, string>;

/** Puts an active job back at the head of the waiting list, without spending an attempt. */
async function giveBack(job: Job, token: string | undefined): Promise<never> {
  await job.moveToWait(token);
  // BullMQ's signal that the job was moved on purpose: not a failure, no retry counted.
  throw new WaitingError();
}

/**
 * The {@link JobQueue} on BullMQ: jobs live in Redis, so several core processes, on one machine
 * or several, share them, and a job survives the process that queued it. Payloads are opaque
 * JSON (the pipeline queues still-sealed deliveries: Redis never holds their plaintext).
 *
 * Two connections of its own, both with error listeners: one for the producer side (commands
 * fail after a few retries while Redis is down, so `add` reports it rather than hanging) and one
 * for the worker (BullMQ needs `maxRetriesPerRequest: null` for its blocking reads; it
 * duplicates it for them). `dispose` shuts down worker → queue → connections, in that order.
 *
 * @example
 * const queue = await BullJobQueue.connect<Payload>({ redisUrl, name: 'deliveries', prefix: 'hearth', retry, log });
 * await queue.process(handler, { concurrency: 4 });
 */
export class BullJobQueue<T> extends EventEmitter<JobQueueEvents<T>> implements JobQueue<T> {
  readonly kind = 'bullmq';
  private worker: Worker<T, void, string> | undefined;
  private consumer: Redis | undefined;
  private starting: Promise<void> | undefined;
  private readonly running = new Map<string, { job: QueuedJob<T>; controller: AbortController }>();
  /** The attempt each Job object is on, for the worker's events (they get the same object). */
  private readonly views = new WeakMap<BullJob<T>, QueuedJob<T>>();
  private readonly errors;
  private closing: Promise<DisposeReport<T>> | undefined;

  private constructor(
    private readonly queue: BullQueue<T>,
    private readonly producer: Redis,
    private readonly options: BullJobQueueOptions,
  ) {
    super();
    this.errors = throttledErrorLog(options.log, `job queue ${options.name} on Redis (REDIS_URL)`);
    queue.on('error', (error) => this.errors.report(error));
  }

  /**
   * Connects to Redis and opens the queue.
   *
   * @throws RedisError when Redis cannot be reached, naming REDIS_URL
   */
  static async connect<T>(options: BullJobQueueOptions): Promise<BullJobQueue<T>> {
    checkPositiveInteger('attempts', options.retry.attempts, 1);
    checkPositiveInteger('backoffMs', options.retry.backoffMs, 0);
    const producer = await connectRedis(options.redisUrl, { name: `jobs-${options.name}`, log: options.log });
    try {
      const queue: BullQueue<T> = new Queue<T, void, string, T, void, string>(options.name, {
        connection: producer,
        prefix: options.prefix,
        defaultJobOptions: {
          attempts: options.retry.attempts,
          backoff: { type: 'exponential', delay: options.retry.backoffMs },
          removeOnComplete: KEEP_COMPLETED,
          removeOnFail: KEEP_FAILED,
        },
      });
      const self = new BullJobQueue<T>(queue, producer, options);
      await queue.waitUntilReady();
      return self;
    } catch (error) {
      await quitRedis(producer);
      throw error;
    }
  }

  async add(id: string, data: T): Promise<boolean> {
    if (this.closing) throw new QueueClosedError(this.options.name);
    const jobId = jobIdFor(id);
    try {
      const state = await this.queue.getJobState(jobId);
      if (state === 'completed' || state === 'failed') {
        // Kept for inspection only: a redelivered message must run again (and be answered).
        await this.queue.remove(jobId);
      } else if (state !== 'unknown') {
        return false;
      }
      // Should another core add the same id between the check and here, BullMQ keeps one job.
      await this.queue.add(JOB_NAME, data, { jobId });
      return true;
    } catch (error) {
      throw redisFailure(this.options.redisUrl, `queue job ${id} on ${this.options.name}`, error);
    }
  }

  process(handler: JobHandler<T>, options: { concurrency: number }): Promise<void> {
    if (this.closing) return Promise.reject(new QueueClosedError(this.options.name));
    if (this.starting) return Promise.reject(new Error(`the job queue ${this.options.name} already has a handler`));
    checkPositiveInteger('concurrency', options.concurrency, 1);
    this.starting = this.startWorker(handler, options.concurrency);
    return this.starting;
  }

  async counts(): Promise<JobCounts> {
    try {
      const counts = await this.queue.getJobCounts('wait', 'prioritized', 'delayed', 'active');
      const n = (type: string) => counts[type] ?? 0;
      return { waiting: n('wait') + n('prioritized') + n('delayed'), active: n('active'), running: this.running.size };
    } catch (error) {
      throw redisFailure(this.options.redisUrl, `count the jobs of ${this.options.name}`, error);
    }
  }

  dispose(options: DisposeOptions = {}): Promise<DisposeReport<T>> {
    this.closing ??= this.shutDown(options.timeoutMs ?? 30_000);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose().then(() => undefined);
  }

  private async startWorker(handler: JobHandler<T>, concurrency: number): Promise<void> {
    const { options } = this;
    this.consumer = await connectRedis(options.redisUrl, { name: `jobs-${options.name}-worker`, log: options.log, maxRetriesPerRequest: null });
    const worker = new Worker<T, void, string>(options.name, (job, token, signal) => this.run(job, token, signal, handler), {
      connection: this.consumer,
      prefix: options.prefix,
      concurrency,
      autorun: false,
      ...(options.workerName ? { name: options.workerName } : {}),
      lockDuration: options.lockDurationMs ?? 30_000,
      // A job whose core died is put back twice before it counts as failed.
      maxStalledCount: 2,
    });
    worker.on('error', (error) => this.errors.report(error));
    worker.on('completed', (job) => {
      const view = this.views.get(job);
      if (view) this.emit('completed', view);
    });
    worker.on('failed', (job, error) => this.onFailed(job, error));
    this.worker = worker;
    void worker.run().catch((error: unknown) => this.errors.report(error));
    await worker.waitUntilReady();
  }

  /** Runs the handler; on abandonment, gives the job back to the queue without spending an attempt. */
  private async run(job: BullJob<T>, token: string | undefined, signal: AbortSignal | undefined, handler: JobHandler<T>): Promise<void> {
    if (this.closing) {
      // A worker blocked waiting for work still takes the job that wakes it, closing or not.
      await giveBack(job, token);
    }
    const view: QueuedJob<T> = { id: idOfJobId(job.id ?? ''), data: job.data, attempt: job.attemptsMade + 1 };
    this.views.set(job, view);
    const controller = new AbortController();
    const abandoned = new Promise<'abandoned'>((resolve) => controller.signal.addEventListener('abort', () => resolve('abandoned'), { once: true }));
    this.running.set(view.id, { job: view, controller });
    try {
      // BullMQ aborts its signal when it loses the job's lock: the handler hears both.
      const jobSignal = signal ? AbortSignal.any([controller.signal, signal]) : controller.signal;
      const outcome = await Promise.race([handler({ ...view, signal: jobSignal }).then(() => 'done' as const), abandoned]);
      if (outcome === 'abandoned') await giveBack(job, token);
    } finally {
      this.running.delete(view.id);
    }
  }

  private onFailed(job: BullJob<T> | undefined, error: Error): void {
    const view = job && this.views.get(job);
    if (!job || !view) {
      // A job that stalled too often, failed by the stalled checker rather than a handler.
      this.options.log.warn({ jobId: job?.id, err: error.message }, `job on ${this.options.name} failed outside a handler`);
      return;
    }
    if (view.attempt < (job.opts.attempts ?? 1)) this.emit('retrying', view, error, retryDelay(view.attempt, this.options.retry.backoffMs));
    else this.emit('failed', view, error);
  }

  private async shutDown(timeoutMs: number): Promise<DisposeReport<T>> {
    const abandoned: QueuedJob<T>[] = [];
    await this.starting?.catch(() => undefined);
    const { worker } = this;
    if (worker) {
      const closed = worker.close();
      closed.catch((error: unknown) => this.errors.report(error));
      if (!(await settlesWithin(closed, timeoutMs))) {
        for (const { job, controller } of this.running.values()) {
          abandoned.push(job);
          controller.abort(new Error(`the job queue ${this.options.name} closed before this job finished`));
        }
      }
      // Abandoned jobs give themselves back at once; only a Redis that stopped answering keeps
      // the worker from closing now. Then cut its connections rather than hang the shutdown.
      if (!(await settlesWithin(closed, DISCONNECT_GRACE_MS))) await this.cut(worker);
    }
    if (!(await settlesWithin(this.queue.close(), DISCONNECT_GRACE_MS))) await this.cut(this.queue);
    if (this.consumer) await quitRedis(this.consumer);
    await quitRedis(this.producer);
    // Waiting jobs stay in Redis, for the other cores or this one's next start.
    return { returned: [], abandoned };
  }

  private async cut(part: { disconnect(): Promise<void> }): Promise<void> {
    this.options.log.warn({ queue: this.options.name }, 'Redis (REDIS_URL) did not answer while the job queue closed: connections cut');
    await settlesWithin(
      part.disconnect().catch((error: unknown) => this.errors.report(error)),
      DISCONNECT_GRACE_MS,
    );
  }
}
