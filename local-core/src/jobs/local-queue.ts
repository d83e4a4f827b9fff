import { EventEmitter } from 'node:events';
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

interface Entry<T> {
  id: string;
  data: T;
  /** Attempts finished so far. */
  attemptsMade: number;
}

interface Running<T> {
  job: QueuedJob<T>;
  controller: AbortController;
  done: Promise<void>;
}

const toError = (error: unknown) => (error instanceof Error ? error : new Error(String(error)));

/**
 * The in-process {@link JobQueue}, for a core without Redis. Jobs live in this process only:
 * `dispose` hands back those that did not run, and the caller leaves their deliveries unacked so
 * the Relay gives them to a core again.
 *
 * @example
 * const queue = new LocalJobQueue<Payload>({ attempts: 3, backoffMs: 1_000 });
 * await queue.process(async (job) => handle(job.data, job.signal), { concurrency: 4 });
 * await queue.add(delivery.message_id, payload);
 */
export class LocalJobQueue<T> extends EventEmitter<JobQueueEvents<T>> implements JobQueue<T> {
  readonly kind = 'local';
  private readonly waiting: Entry<T>[] = [];
  private readonly delayed = new Map<string, { entry: Entry<T>; timer: NodeJS.Timeout }>();
  private readonly running = new Map<string, Running<T>>();
  private handler: JobHandler<T> | undefined;
  private concurrency = 0;
  private closing: Promise<DisposeReport<T>> | undefined;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly name = 'local',
  ) {
    super();
    checkPositiveInteger('attempts', policy.attempts, 1);
    checkPositiveInteger('backoffMs', policy.backoffMs, 0);
  }

  async add(id: string, data: T): Promise<boolean> {
    if (this.closing) throw new QueueClosedError(this.name);
    if (this.has(id)) return false;
    // Through JSON, as BullMQ does: the handler gets a copy, never the caller's object.
    this.waiting.push({ id, data: JSON.parse(JSON.stringify(data)) as T, attemptsMade: 0 });
    this.pump();
    return true;
  }

  async process(handler: JobHandler<T>, options: { concurrency: number }): Promise<void> {
    if (this.closing) throw new QueueClosedError(this.name);
    if (this.handler) throw new Error(`the job queue ${this.name} already has a handler`);
    checkPositiveInteger('concurrency', options.concurrency, 1);
    this.handler = handler;
    this.concurrency = options.concurrency;
    this.pump();
  }

  async counts(): Promise<JobCounts> {
    return { waiting: this.waiting.length + this.delayed.size, active: this.running.size, running: this.running.size };
  }

  dispose(options: DisposeOptions = {}): Promise<DisposeReport<T>> {
    this.closing ??= this.shutDown(options.timeoutMs ?? 30_000);
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose().then(() => undefined);
  }

  private async shutDown(timeoutMs: number): Promise<DisposeReport<T>> {
    const finished = await settlesWithin(Promise.allSettled([...this.running.values()].map((run) => run.done)), timeoutMs);
    const abandoned: QueuedJob<T>[] = [];
    if (!finished) {
      for (const run of this.running.values()) {
        abandoned.push(run.job);
        run.controller.abort(new Error(`the job queue ${this.name} closed before this job finished`));
      }
      // Whatever these handlers do from now on is ignored (see `finish`).
      this.running.clear();
    }
    // Jobs that failed during the wait are in `delayed` with their retry: handed back too.
    for (const { timer: retry } of this.delayed.values()) clearTimeout(retry);
    const returned = [...this.waiting, ...[...this.delayed.values()].map((d) => d.entry)].map((entry) => this.view(entry));
    this.waiting.length = 0;
    this.delayed.clear();
    return { returned, abandoned };
  }

  private has(id: string): boolean {
    return this.running.has(id) || this.delayed.has(id) || this.waiting.some((entry) => entry.id === id);
  }

  /** Starts waiting jobs, oldest first, while there is a free slot. */
  private pump(): void {
    const { handler } = this;
    while (handler && !this.closing && this.running.size < this.concurrency) {
      const entry = this.waiting.shift();
      if (!entry) return;
      this.start(entry, handler);
    }
  }

  private start(entry: Entry<T>, handler: JobHandler<T>): void {
    const controller = new AbortController();
    const job = this.view(entry);
    const run: Running<T> = { job, controller, done: Promise.resolve() };
    this.running.set(entry.id, run);
    run.done = (async () => {
      try {
        await handler({ ...job, signal: controller.signal });
        this.finish(entry, run);
      } catch (error) {
        this.finish(entry, run, toError(error));
      }
    })();
  }

  private finish(entry: Entry<T>, run: Running<T>, error?: Error): void {
    // Abandoned at close: the caller was already told, and the job is not ours any more.
    if (this.running.get(entry.id) !== run) return;
    this.running.delete(entry.id);
    const attemptsMade = entry.attemptsMade + 1;
    if (!error) {
      this.emit('completed', run.job);
    } else if (attemptsMade < this.policy.attempts) {
      const delayMs = retryDelay(attemptsMade, this.policy.backoffMs);
      const next = { ...entry, attemptsMade };
      const timer = setTimeout(() => {
        this.delayed.delete(entry.id);
        this.waiting.push(next);
        this.pump();
      }, delayMs);
      this.delayed.set(entry.id, { entry: next, timer });
      this.emit('retrying', run.job, error, delayMs);
    } else {
      this.emit('failed', run.job, error);
    }
    this.pump();
  }

  private view(entry: Entry<T>): QueuedJob<T> {
    return { id: entry.id, data: entry.data, attempt: entry.attemptsMade + 1 };
  }
}
