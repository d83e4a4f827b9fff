import { setTimeout } from 'node:timers/promises';
import type { Message } from '@hearth/shared';

/**
 * What turns a message into a reply. The model-backed engine is the product; `echo` is a
 * diagnostic (benchmarks of the delivery path measure the Relay and tunnel, not the model).
 */
export interface Engine {
  readonly name: string;
  /** The reply to `message`, in the context of its conversation so far. */
  reply(message: Message, options?: { signal?: AbortSignal }): Promise<string>;
  dispose(): Promise<void>;
}

/**
 * Diagnostic engine: answers with the message's own text (`HEARTH_ENGINE=echo`), after
 * `delayMs` (`HEARTH_ECHO_DELAY_MS`) so fault tests can have work genuinely in progress.
 */
export class EchoEngine implements Engine {
  readonly name = 'echo';

  constructor(private readonly delayMs = 0) {}

  async reply(message: Message, { signal }: { signal?: AbortSignal } = {}): Promise<string> {
    if (this.delayMs > 0) await setTimeout(this.delayMs, undefined, signal ? { signal } : {});
    return message.content.text;
  }

  async dispose(): Promise<void> {}
}
