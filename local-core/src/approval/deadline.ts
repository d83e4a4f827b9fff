/**
 * A time limit that can be held: a turn's generation limit, which does not run while the turn
 * waits for the owner's approval (a person may take longer to answer than a generation may take).
 *
 * @example
 * const deadline = new TurnDeadline(60_000);
 * const release = deadline.hold(); // the clock stops
 * release(); // and runs on with what was left
 */
export class TurnDeadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private remainingMs: number;
  private armedAt = 0;
  private holds = 0;
  private disposed = false;

  constructor(ms: number) {
    this.remainingMs = ms;
    this.arm();
  }

  /** Aborts when the time is up. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get aborted(): boolean {
    return this.controller.signal.aborted;
  }

  /** Stops the clock until the returned function is called (once; holds nest). */
  hold(): () => void {
    if (this.holds++ === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.remainingMs -= performance.now() - this.armedAt;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds === 0) this.arm();
    };
  }

  /** Stops the timer for good; idempotent. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.disposed || this.aborted) return;
    this.armedAt = performance.now();
    this.timer = setTimeout(() => this.controller.abort(new DOMException('the generation time limit passed', 'TimeoutError')), Math.max(0, this.remainingMs));
    this.timer.unref();
  }
}
