import type { Logger } from './logger.js';

/** A long-lived part: `dispose` frees what it holds, and a second call does nothing. */
export interface Part {
  dispose(): unknown;
}

/**
 * The parts of a program in the order they started, torn down in reverse by `dispose` (what
 * `AsyncDisposableStack` does, missing from Node 20): registered as each starts, so a start
 * that fails part-way frees exactly what it had started. One part failing to dispose is logged
 * and the rest are still torn down.
 *
 * @example
 * await using parts = new Lifecycle(log);
 * const memory = parts.use('memory', await openMemory(config.memory, log));
 * parts.defer('timer', () => clearInterval(timer));
 */
export class Lifecycle implements AsyncDisposable {
  private readonly steps: { name: string; dispose: () => unknown }[] = [];
  private disposing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  /** Registers a started part, disposed before everything registered earlier; returns it. */
  use<T extends Part>(name: string, part: T): T {
    this.defer(name, () => part.dispose());
    return part;
  }

  /**
   * Registers a teardown step of no part of its own (a timer, a last drain). After `dispose`
   * began (a signal during the start), the step joins it at once and this throws, so that
   * the start stops there.
   */
  defer(name: string, dispose: () => unknown): void {
    if (this.disposing) {
      this.disposing = this.disposing.then(() => this.run({ name, dispose }));
      throw new StoppedError(name);
    }
    this.steps.push({ name, dispose });
  }

  /** Tears everything down, last started first. Safe to call twice: the second waits for the first. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      for (const step of this.steps.reverse()) await this.run(step);
      this.steps.length = 0;
    })();
    return this.disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private async run(step: { name: string; dispose: () => unknown }): Promise<void> {
    try {
      await step.dispose();
    } catch (error) {
      this.log.error({ part: step.name, err: error instanceof Error ? error.message : String(error) }, 'part not disposed cleanly; the rest goes on');
    }
  }
}

/** A part started after its lifecycle began to be disposed: it was disposed at once. */
export class StoppedError extends Error {
  override readonly name = 'StoppedError';
  constructor(part: string) {
    super(`${part} started while stopping; disposed at once`);
  }
}
