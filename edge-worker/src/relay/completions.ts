import { type AckFrame, FinishReasonSchema, TokenUsageSchema, ToolCallSchema } from '@hearth/shared';
import { z } from 'zod';

/**
 * What the Relay streams back to the worker for one chat completion, one JSON object per line:
 * the reply as the core writes it, then its end (`done`, with the whole text the ack carried)
 * or a failure.
 */
export const CompletionEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('delta'), text: z.string() }),
  z.object({
    type: z.literal('done'),
    text: z.string(),
    usage: TokenUsageSchema.optional(),
    tool_calls: z.array(ToolCallSchema).optional(),
    finish_reason: FinishReasonSchema.optional(),
  }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type CompletionEvent = z.infer<typeof CompletionEventSchema>;

/** What an ack's reply says to the caller waiting on a completion. */
export const completionEnd = ({ text, usage, tool_calls, finish_reason }: NonNullable<AckFrame['reply']>): Omit<Extract<CompletionEvent, { type: 'done' }>, 'type'> => ({
  text,
  ...(usage ? { usage } : {}),
  ...(tool_calls ? { tool_calls } : {}),
  ...(finish_reason ? { finish_reason } : {}),
});

interface OpenCompletion {
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Deltas streamed so far: once text went out, the delivery may not start over elsewhere. */
  deltas: number;
  timer: ReturnType<typeof setTimeout>;
  /** Stops the work: the client left or the time ran out. */
  abandon: (why: string) => void;
}

const encoder = new TextEncoder();

/**
 * The chat completions waiting on the Relay, by message id. A completion is a queued message
 * like any other (windows, failover, idempotent ack); what differs is that someone waits on
 * the line for it, so its partials and its ack are written to that caller's stream, which ends
 * with the ack, a failure, or the time limit.
 */
export class CompletionStreams {
  private readonly open = new Map<string, OpenCompletion>();

  /** The stream for `messageId`; `abandon` is called once if it ends before the reply (timeout, client gone). */
  start(messageId: string, timeoutMs: number, abandon: (why: string) => void): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const timer = setTimeout(() => this.end(messageId, { type: 'error', code: 'core_timeout', message: `no reply within ${timeoutMs} ms` }, 'timeout'), timeoutMs);
    this.open.set(messageId, { writer: writable.getWriter(), deltas: 0, timer, abandon });
    return readable;
  }

  has(messageId: string): boolean {
    return this.open.has(messageId);
  }

  /** Whether text already went out for it (a redelivery would repeat or contradict it). */
  streamed(messageId: string): boolean {
    return (this.open.get(messageId)?.deltas ?? 0) > 0;
  }

  delta(messageId: string, text: string): void {
    const entry = this.open.get(messageId);
    if (!entry) return;
    entry.deltas++;
    this.write(messageId, entry, { type: 'delta', text });
  }

  /** Ends the stream with the reply (abandoned: false) or with a failure, then abandons the work. */
  end(messageId: string, event: CompletionEvent, abandonedBecause?: string): void {
    const entry = this.open.get(messageId);
    if (!entry) return;
    this.open.delete(messageId);
    clearTimeout(entry.timer);
    entry.writer
      .write(encoder.encode(`${JSON.stringify(event)}\n`))
      .then(() => entry.writer.close())
      .catch(() => undefined);
    if (abandonedBecause) entry.abandon(abandonedBecause);
  }

  private write(messageId: string, entry: OpenCompletion, event: CompletionEvent): void {
    entry.writer.write(encoder.encode(`${JSON.stringify(event)}\n`)).catch(() => {
      // The caller went away: nobody reads the rest.
      if (!this.open.delete(messageId)) return;
      clearTimeout(entry.timer);
      entry.abandon('client gone');
    });
  }
}
