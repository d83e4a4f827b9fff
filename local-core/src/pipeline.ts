import {
  MessageSchema,
  commandOf,
  redact,
  replyKeyFor,
  unseal,
  type CoreFrameBody,
  type CoreKeySet,
  type DeliverFrame,
  type Message,
  type RedactionConfig,
} from '@hearth/shared';
import { LRUCache } from 'lru-cache';
import { runBuiltinCommand, unknownCommandReply } from './commands/builtin.js';
import type { ConversationHistory, Engine } from './inference/engine.js';
import type { Logger } from './logger.js';
import type { Memory } from './memory/memory.js';
import type { Recall } from './recall/recall.js';
import { StreamBuffer } from './stream-buffer.js';

export interface PipelineOptions {
  keySet: CoreKeySet;
  engine: Engine;
  log: Logger;
  /** Sends a frame on the current tunnel; false when it is down (the Relay will redeliver). */
  send: (frame: CoreFrameBody) => boolean;
  /** Answered messages remembered, so a redelivery is re-sent, not regenerated. */
  rememberAnswers?: number;
  /** A reply still generating after this long is cut off and sent as it is (default 60 s). */
  generationTimeoutMs?: number;
  /** History, dedupe records and sessions (L1/L2/L3). */
  memory: Memory;
  /** Long-term recall; none when HEARTH_RECALL=off. */
  recall?: Recall | undefined;
  /** Whether the model sees redacted text, and of which kinds. */
  redaction?: RedactionConfig;
  /** Counts deliveries, acks, reply latency and tokens (Prometheus, on the admin port). */
  metrics?: PipelineMetrics;
}

/** What the pipeline reports as it works (CoreMetrics implements it). */
export interface PipelineMetrics {
  delivered(attempt: number): void;
  acked(outcome: 'replied' | 'dropped', seconds: number): void;
  generated(tokens: number, seconds: number): void;
}

const PROGRESS_EVERY_MAX_MS = 4_000;
/** How long after a `/stop` cut a reply short the `/stop` itself is answered "Stopped.". */
const STOP_MEMORY_MS = 120_000;

/** Said when the model produced only whitespace, so the sender is not left waiting in silence. */
export const EMPTY_REPLY_NOTICE = '(the model produced no reply)';
/** Appended to a reply cut short by `/stop` or by the time limit. */
export const STOPPED_MARK = ' …';
export const TIMED_OUT_NOTE = '\n\n(cut short: it was taking too long)';

/**
 * Turns deliveries into replies: unseal → validate → command or engine → ack carrying the reply,
 * under an idempotency key derived from the message. Text streams to the edge as it is produced
 * (partial frames). A crash before the ack makes the Relay redeliver; a repeated reply is dropped
 * there; a redelivery of a message this core already answered (or is answering) reuses that
 * answer instead of generating again. A `/stop` (a cancel frame) or the time limit ends a
 * generation early, and what was written so far is sent.
 */
export class Pipeline {
  private readonly answered: LRUCache<string, string>;
  private readonly running = new Map<string, Promise<string>>();
  private readonly cancellers = new Map<string, AbortController>();
  /** Cancels that came before their generation started (still being unsealed). */
  private readonly earlyCancels = new LRUCache<string, true>({ max: 1_000 });
  private readonly stoppedAt = new Map<string, number>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private progressEveryMs: number | undefined;

  constructor(private readonly options: PipelineOptions) {
    this.answered = new LRUCache({ max: options.rememberAnswers ?? 10_000 });
  }

  /**
   * The edge gives a delivery this long without an ack or a progress frame. We report three
   * times as often, and at least every 4 s: progress also drives the user's typing indicator.
   */
  setAckTimeout(ackTimeoutMs: number): void {
    this.progressEveryMs = Math.max(50, Math.min(PROGRESS_EVERY_MAX_MS, Math.floor(ackTimeoutMs / 3)));
  }

  /** Deliveries being worked on now. */
  get inFlight(): number {
    return this.tasks.size;
  }

  /**
   * Works a delivery to its ack; resolves when it is done (acked, or abandoned because the core
   * is stopping). Rejects when generation failed (logged, unacked): the job queue retries it.
   */
  handle(delivery: DeliverFrame): Promise<void> {
    // Held at arrival, this one included: never above the window the core granted.
    const holding = this.tasks.size + 1;
    this.options.log.debug({ messageId: delivery.message_id, attempt: delivery.attempt, holding }, 'delivery received');
    const task = this.process(delivery, holding).finally(() => this.tasks.delete(task));
    this.tasks.add(task);
    return task;
  }

  /** The sender said `/stop`: end this generation now; what it wrote so far is the reply. */
  cancel(messageId: string): void {
    const canceller = this.cancellers.get(messageId);
    if (!canceller) {
      this.earlyCancels.set(messageId, true);
      return;
    }
    canceller.abort(new Error('stopped by the sender'));
    this.options.log.info({ messageId }, 'generation stopped by the sender');
  }

  /** Abandons work in progress (unacked, so the Relay redelivers it) and waits for it to settle. */
  async stop(): Promise<void> {
    this.abort.abort(new Error('core stopping'));
    await Promise.allSettled([...this.tasks]);
  }

  private async process(delivery: DeliverFrame, holding: number): Promise<void> {
    const started = performance.now();
    this.options.metrics?.delivered(delivery.attempt);
    const log = this.options.log.child({ messageId: delivery.message_id, attempt: delivery.attempt });
    let message: Message;
    try {
      message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, this.options.keySet)));
    } catch (error) {
      // No retry can fix a payload this key cannot open: ack so it does not block its conversation.
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'delivery cannot be opened or is invalid; dropped');
      this.options.send({ type: 'ack', message_id: delivery.message_id });
      this.options.metrics?.acked('dropped', (performance.now() - started) / 1000);
      return;
    }

    let text: string;
    const progress = this.progressEveryMs
      ? setInterval(() => this.options.send({ type: 'progress', message_id: message.message_id }), this.progressEveryMs)
      : undefined;
    try {
      text = await this.replyTo(message, { stream: true });
    } catch (error) {
      if (this.abort.signal.aborted) return;
      // Unacked: the job queue retries it with backoff, and after that the Relay redelivers it.
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'generation failed');
      throw error;
    } finally {
      clearInterval(progress);
    }
    if (this.abort.signal.aborted) return;

    const sent = this.options.send({ type: 'ack', message_id: message.message_id, reply: { key: replyKeyFor(message.message_id), text } });
    if (sent) this.options.metrics?.acked('replied', (performance.now() - started) / 1000);
    log.info(
      { conversationId: message.conversation.id, chars: text.length, ms: Math.round(performance.now() - started), holding, sent },
      sent ? 'replied' : 'reply kept for redelivery (tunnel down)',
    );
  }

  /**
   * The reply to a message that did not come through the Relay (a local protocol such as
   * MQTT): the same commands, memory, recall and model, and the same dedupe by message id (a
   * message seen before gets the reply it got then). `stream`: send the text to the edge as it
   * is written (only for messages the edge delivered).
   *
   * @throws when generation fails (nothing is remembered; the caller may retry)
   */
  async replyTo(message: Message, { stream = false }: { stream?: boolean } = {}): Promise<string> {
    const text = this.answered.get(message.message_id) ?? this.options.memory.answerFor(message.message_id)?.replyText ?? (await this.answer(message, stream));
    this.answered.set(message.message_id, text);
    return text;
  }

  /** One answer per message id, however many times it is delivered meanwhile. */
  private answer(message: Message, stream: boolean): Promise<string> {
    let pending = this.running.get(message.message_id);
    if (!pending) {
      const command = commandOf(message);
      pending = (command ? this.command(message, command) : this.generate(message, stream)).finally(() => this.running.delete(message.message_id));
      this.running.set(message.message_id, pending);
    }
    return pending;
  }

  private async command(message: Message, command: NonNullable<ReturnType<typeof commandOf>>): Promise<string> {
    const reply = await runBuiltinCommand(command, {
      message,
      reset: async (conversationId) => {
        await this.options.memory.reset(conversationId);
        await this.options.engine.reset(conversationId);
      },
      stopped: (conversationId) => {
        const at = this.stoppedAt.get(conversationId);
        this.stoppedAt.delete(conversationId);
        return at !== undefined && Date.now() - at < STOP_MEMORY_MS;
      },
      describeModel: () => this.options.engine.describe(),
    });
    const text = reply ?? unknownCommandReply(command);
    // Kept as the answer (a redelivery after a restart repeats it) but not as conversation.
    this.options.memory.recordAnswer(this.answerRecord(message, text));
    return text;
  }

  private answerRecord(message: Message, text: string) {
    return { messageId: message.message_id, replyKey: replyKeyFor(message.message_id), replyText: text, createdAt: Date.now() };
  }

  private async generate(message: Message, stream: boolean): Promise<string> {
    const { memory, recall } = this.options;
    const conversationId = message.conversation.id;
    const { generation, turns } = await memory.recall(conversationId);
    const text = await this.generateText(message, { generation, turns: turns.map((turn) => ({ role: turn.role, text: turn.text })) }, stream);
    memory.remember({
      generation,
      turns: [
        { messageId: message.message_id, conversationId, role: 'user', senderId: message.sender.id, text: message.content.text, createdAt: message.timestamp * 1000, inReplyTo: message.reply_to },
        { messageId: replyKeyFor(message.message_id), conversationId, role: 'assistant', senderId: 'hearth', text, createdAt: Date.now(), inReplyTo: message.message_id },
      ],
      answer: this.answerRecord(message, text),
    });
    // Remembered for later recall; a failure here costs a memory, never the reply.
    recall?.remember(conversationId, message.content.text, 'message', message.message_id).catch((error: unknown) =>
      this.options.log.warn({ err: error instanceof Error ? error.message : String(error), conversationId }, 'recall could not store a message'),
    );
    return text;
  }

  /** The model's input: the text (redacted when configured), recalled snippets, the history. */
  private async modelInput(message: Message): Promise<{ message: Message; context: string[] }> {
    const { recall, redaction } = this.options;
    const text = redaction?.redactModelInput ? redact(message.content.text, { kinds: redaction.kinds }).text : message.content.text;
    const recalled = recall ? await recall.contextFor(message.conversation.id, message.content.text) : undefined;
    const context = (recalled?.snippets ?? []).map((snippet) => snippet.excerpt);
    return { message: { ...message, content: { ...message.content, text } }, context };
  }

  private async generateText(message: Message, history: ConversationHistory, streaming: boolean): Promise<string> {
    const canceller = new AbortController();
    const timeout = AbortSignal.timeout(this.options.generationTimeoutMs ?? 60_000);
    const signal = AbortSignal.any([this.abort.signal, canceller.signal, timeout]);
    const stream = streaming ? new StreamBuffer(message.message_id, this.options.send) : undefined;
    this.cancellers.set(message.message_id, canceller);
    if (this.earlyCancels.delete(message.message_id)) canceller.abort(new Error('stopped by the sender'));
    try {
      const input = await this.modelInput(message);
      const generating = performance.now();
      const text = await this.options.engine.reply(input.message, { signal, context: input.context, history, ...(stream ? { onText: (chunk: string) => stream.push(chunk) } : {}) });
      stream?.close();
      this.options.metrics?.generated(this.options.engine.countTokens(text), (performance.now() - generating) / 1000);
      if (canceller.signal.aborted) {
        this.stoppedAt.set(message.conversation.id, Date.now());
        return text.trim() === '' ? '(stopped)' : `${text}${STOPPED_MARK}`;
      }
      if (timeout.aborted && !this.abort.signal.aborted) return `${text.trim() === '' ? '(no reply in time)' : text}${TIMED_OUT_NOTE}`;
      return text.trim() === '' ? EMPTY_REPLY_NOTICE : text;
    } finally {
      this.cancellers.delete(message.message_id);
    }
  }
}
