/**
 * Runs work by key: one job at a time per key, in the order pushed; different keys in parallel,
 * at most `concurrency` jobs at once, handed out first come, first served. The bridge keys by
 * device, so each device's replies go out in the order its messages came.
 *
 * @example
 * const queue = new KeyedQueue(4, (error, key) => log.error({ key, err: String(error) }, 'job failed'));
 * queue.push('kitchen', () => answer(message));
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly waitingForSlot: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private running = 0;
  private pending = 0;

  constructor(
    private readonly concurrency: number,
    /** A failed job is reported here; it never holds up the next job of its key. */
    private readonly onError: (error: unknown, key: string) => void,
    /** Called after every finished job (the bridge uses it to let held acknowledgements go). */
    private readonly onSettled: () => void = () => {},
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number ≥ 1, got ${concurrency}`);
  }

  /** Jobs pushed and not finished, running or waiting. */
  get size(): number {
    return this.pending;
  }

  push(key: string, job: () => Promise<void>): void {
    this.pending++;
    const run = async () => {
      await this.acquire();
      try {
        await job();
      } finally {
        this.release();
      }
    };
    const tail: Promise<void> = (this.tails.get(key) ?? Promise.resolve())
      .then(run)
      .catch((error: unknown) => this.onError(error, key))
      .finally(() => {
        if (this.tails.get(key) === tail) this.tails.delete(key);
        this.pending--;
        this.onSettled();
        if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    this.tails.set(key, tail);
  }

  /** Resolves once no job is running or waiting (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private acquire(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waitingForSlot.push(resolve));
  }

  private release(): void {
    const next = this.waitingForSlot.shift();
    // The slot passes straight to the next job waiting, so `running` stays the same.
    if (next) next();
    else this.running--;
  }
}
