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

/** Diagnostic engine: answers with the message's own text, instantly (`HEARTH_ENGINE=echo`). */
export class EchoEngine implements Engine {
  readonly name = 'echo';

  async reply(message: Message): Promise<string> {
    return message.content.text;
  }

  async dispose(): Promise<void> {}
}
