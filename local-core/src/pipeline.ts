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
  type TokenUsage,
} from '@hearth/shared';
import { LRUCache } from 'lru-cache';
import { TurnDeadline } from './approval/deadline.js';
import type { ApprovalTurn, PipelineApprovals } from './approval/desk.js';
import { runBuiltinCommand, unknownCommandReply } from './commands/builtin.js';
import { completionOptions } from './inference/completion-options.js';
import { Compactor, afterSummary } from './inference/compaction.js';
import { describeParts, type PromptParts, totalOf } from './inference/prompt-accounting.js';
import type { Engine, GenerationStop, ReplyOptions, TurnTool } from './inference/engine.js';
import type { PipelineLearning } from './learning/feedback.js';
import type { Logger } from './logger.js';
import type { McpTools } from './mcp/servers.js';
import type { Memory } from './memory/memory.js';
import { scopeOf, type LongTermMemory } from './memory/long-term.js';
import { MEMORY_TOOL_NAMES } from './memory/memory-tools.js';
import { offeredTools } from './mcp/offered-tools.js';
import type { PluginRouter } from './plugins/registry.js';
import type { Recall } from './recall/recall.js';
import { StreamBuffer } from './stream-buffer.js';
import { replyCreatedAt, userCreatedAt } from './turn-times.js';

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
  /** Most tokens of a conversation's running summary (HEARTH_SUMMARY_TOKENS, default 256). */
  summaryTokens?: number;
  /** Facts kept about each sender (remember/forget, MEMORY.md), recalled into their turns; none when HEARTH_MEMORY_ITEMS=off. */
  longTerm?: LongTermMemory | undefined;
  /** Whether the model sees redacted text, and of which kinds. */
  redaction?: RedactionConfig;
  /** Counts deliveries, acks, reply latency and tokens (Prometheus, on the admin port). */
  metrics?: PipelineMetrics;
  /** Feedback (learning/): 👍/👎 presses recorded without the model, buttons under model replies. */
  learning?: PipelineLearning;
  /** Plugins: commands not built in go to them, their tools are offered to the model. */
  plugins?: PluginRouter | undefined;
  /** MCP servers: their tools are offered beside the plugins' (a name a plugin has stays the plugin's). */
  mcp?: McpTools | undefined;
  /** The owner's Run / Skip for tools that need it; none: such tools are never offered. */
  approvals?: PipelineApprovals | undefined;
}

/** What the pipeline reports as it works (CoreMetrics implements it). */
export interface PipelineMetrics {
  delivered(attempt: number): void;
  acked(outcome: 'replied' | 'dropped', seconds: number): void;
  generated(tokens: number, seconds: number): void;
  /** A conversation turn's prompt, part by part (system prompt, tools, summary, recall, history, message). */
  prompted?(parts: PromptParts): void;
}

const PROGRESS_EVERY_MAX_MS = 4_000;
/** How long after a `/stop` cut a reply short the `/stop` itself is answered "Stopped.". */
const STOP_MEMORY_MS = 120_000;

/** Said when the model produced only whitespace, so the sender is not left waiting in silence. */
export const EMPTY_REPLY_NOTICE = '(the model produced no reply)';
/** Appended to a reply cut short by `/stop` or by the time limit. */
const STOPPED_MARK = ' …';
export const TIMED_OUT_NOTE = '\n\n(cut short: it was taking too long)';

/** A reply and when it was stored (ms): the assistant turn's `created_at`, its history cursor. */
/** A completion's end as the ack carries it (`stop` is the default, left out). */
const wireStop = (stop: GenerationStop | undefined) => ({
  ...(stop?.toolCalls ? { tool_calls: stop.toolCalls } : {}),
  ...(stop && stop.reason !== 'stop' ? { finish_reason: stop.reason } : {}),
});

interface Reply {
  text: string;
  createdAt: number;
  /** Set for a completion generated now (not for one answered again from its record). */
  usage?: TokenUsage;
  /** A completion's end, with the calls of the client's functions it made. */
  stop?: GenerationStop;
}

/**
 * Turns deliveries into replies: unseal → validate → command or engine → ack carrying the reply,
 * under an idempotency key derived from the message. Text streams to the edge as it is produced
 * (partial frames). A crash before the ack makes the Relay redeliver; a repeated reply is dropped
 * there; a redelivery of a message this core already answered (or is answering) reuses that
 * answer instead of generating again. A `/stop` (a cancel frame) or the time limit ends a
 * generation early, and what was written so far is sent.
 */
export class Pipeline {
  private readonly answered: LRUCache<string, Reply>;
  private readonly running = new Map<string, Promise<Reply>>();
  private readonly cancellers = new Map<string, AbortController>();
  /** Generations running, by message id: what an approval waits under (the stop signal, the held time limit). */
  private readonly turns = new Map<string, ApprovalTurn>();
  /** Cancels that came before their generation started (still being unsealed). */
  private readonly earlyCancels = new LRUCache<string, true>({ max: 1_000 });
  private readonly stoppedAt = new Map<string, number>();
  private readonly tasks = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private progressEveryMs: number | undefined;
  private readonly compactor: Compactor;
  private disposing: Promise<void> | undefined;
  /** Each conversation's last prompt, part by part, for `/context`. */
  private readonly prompts = new LRUCache<string, PromptParts>({ max: 1_000 });

  constructor(private readonly options: PipelineOptions) {
    this.answered = new LRUCache({ max: options.rememberAnswers ?? 10_000 });
    const { engine, memory, log } = options;
    this.compactor = new Compactor({ engine, memory, log, summaryTokens: options.summaryTokens ?? 256, windowTurns: memory.windowTurns });
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

  /** Abandons work in progress (unacked, so the Relay redelivers it) and waits for it to settle. Idempotent. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      this.abort.abort(new Error('core stopping'));
      await Promise.allSettled([...this.tasks]);
      await this.compactor.idle();
    })();
    return this.disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private async process(delivery: DeliverFrame, holding: number): Promise<void> {
    const started = performance.now();
    this.options.metrics?.delivered(delivery.attempt);
    const log = this.options.log.child({ messageId: delivery.message_id, attempt: delivery.attempt });
    let message: Message;
    try {
      message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, this.options.keySet)));
      // The ids beside the seal are what the Relay routes and dedupes by, and the ack and the reply
      // key are derived from the sealed one: they must be the same message, or one could answer
      // (and dedupe) another.
      if (message.message_id !== delivery.message_id || message.conversation.id !== delivery.conversation_id) {
        throw new Error(`sealed message ${message.message_id} does not match its delivery`);
      }
    } catch (error) {
      // No retry can fix a payload this key cannot open: ack so it does not block its conversation.
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'delivery cannot be opened or is invalid; dropped');
      this.options.send({ type: 'ack', message_id: delivery.message_id });
      this.options.metrics?.acked('dropped', (performance.now() - started) / 1000);
      return;
    }

    if (this.options.learning?.takeFeedback(message)) {
      // A rating is recorded, not answered: acked with no reply, the model never asked.
      this.options.send({ type: 'ack', message_id: message.message_id });
      return;
    }
    const press = this.options.approvals?.takePress(message);
    if (press) {
      // A Run / Skip answers the turn waiting for it (delivered beside it), never the model.
      const reply = press.reply ? { reply: { key: replyKeyFor(message.message_id), text: press.reply } } : {};
      this.options.send({ type: 'ack', message_id: message.message_id, ...reply });
      return;
    }

    let reply: Reply;
    const progress = this.progressEveryMs
      ? setInterval(() => this.options.send({ type: 'progress', message_id: message.message_id }), this.progressEveryMs)
      : undefined;
    try {
      reply = await this.reply(message, true);
    } catch (error) {
      if (this.abort.signal.aborted) return;
      // Unacked: the job queue retries it with backoff, and after that the Relay redelivers it.
      log.error({ err: error instanceof Error ? error.message : String(error) }, 'generation failed');
      throw error;
    } finally {
      clearInterval(progress);
    }
    if (this.abort.signal.aborted) return;

    const { text, createdAt, usage, stop } = reply;
    const buttons = this.options.learning?.replied(message, performance.now() - started);
    // created_at: the edge gives live API clients the cursor this core's history will have.
    const sent = this.options.send({
      type: 'ack',
      message_id: message.message_id,
      reply: { key: replyKeyFor(message.message_id), text, created_at: createdAt, ...(buttons ? { buttons } : {}), ...(usage ? { usage } : {}), ...wireStop(stop) },
    });
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
    return (await this.reply(message, stream)).text;
  }

  /** The reply given before (kept here, or on disk), else a new one. */
  private async reply(message: Message, stream: boolean): Promise<Reply> {
    const id = message.message_id;
    const reply = this.answered.get(id) ?? this.storedAnswer(id) ?? (await this.answer(message, stream));
    this.answered.set(id, reply);
    return reply;
  }

  /** The answer on disk (after a restart): its createdAt, so the ack repeats the same cursor, and a completion's calls. */
  private storedAnswer(messageId: string): Reply | undefined {
    const stored = this.options.memory.answerFor(messageId);
    return stored && { text: stored.replyText, createdAt: stored.createdAt, ...(stored.stop ? { stop: stored.stop } : {}) };
  }

  /** One answer per message id, however many times it is delivered meanwhile. */
  private answer(message: Message, stream: boolean): Promise<Reply> {
    let pending = this.running.get(message.message_id);
    if (!pending) {
      // OpenAI clients send no commands: a completion's text is always the model's to answer.
      const command = message.completion ? undefined : commandOf(message);
      pending = (command ? this.command(message, command) : this.generate(message, stream)).finally(() => this.running.delete(message.message_id));
      this.running.set(message.message_id, pending);
    }
    return pending;
  }

  private async command(message: Message, command: NonNullable<ReturnType<typeof commandOf>>): Promise<Reply> {
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
      promptReport: (conversationId) => this.promptReport(conversationId),
      pluginCommands: () => this.options.plugins?.commandHelp() ?? [],
      memory: this.options.longTerm && { items: this.options.longTerm.items, scopeOf },
    });
    const text = reply ?? (await this.pluginCommand(message, command)) ?? unknownCommandReply(command);
    const createdAt = replyCreatedAt(message);
    // Kept as the answer (a redelivery after a restart repeats it) but not as conversation.
    this.options.memory.recordAnswer(this.answerRecord(message, text, createdAt));
    return { text, createdAt };
  }

  /** A plugin's answer to a command that is not built in; undefined when no enabled plugin has it. */
  private async pluginCommand(message: Message, command: NonNullable<ReturnType<typeof commandOf>>): Promise<string | undefined> {
    const { plugins, log } = this.options;
    if (!plugins?.hasCommand(command.name)) return undefined;
    try {
      return await plugins.runCommand(command.name, command.args, message);
    } catch (error) {
      // The sender gets an answer either way: a failing plugin is reported, not retried on them.
      const reason = error instanceof Error ? error.message : String(error);
      log.warn({ messageId: message.message_id, command: command.name, err: reason }, 'plugin command failed');
      return `/${command.name} could not answer: ${reason}`;
    }
  }

  private answerRecord(message: Message, text: string, createdAt: number) {
    return { messageId: message.message_id, replyKey: replyKeyFor(message.message_id), replyText: text, createdAt };
  }

  private async generate(message: Message, stream: boolean): Promise<Reply> {
    if (message.completion) return this.complete(message, message.completion, stream);
    const { memory, recall } = this.options;
    const conversationId = message.conversation.id;
    // A fold of this conversation's older turns still running comes first: its summary is the context.
    await this.compactor.settled(conversationId);
    const { generation, turns, session } = await memory.recall(conversationId);
    const live = afterSummary(turns, session.summaryThrough);
    const history = { generation, summary: session.summary, turns: live.map((turn) => ({ role: turn.role, text: turn.text })) };
    const tools = this.turnTools(message);
    // Recall leaves out the messages the model reads in these turns anyway (prompt tokens for nothing).
    const inPrompt = new Set(live.flatMap((turn) => (turn.role === 'user' ? [turn.messageId] : [])));
    const { text } = await this.generateText(message, { history, ...(tools.length > 0 ? { tools } : {}) }, stream, inPrompt);
    const createdAt = replyCreatedAt(message);
    memory.remember({
      generation,
      turns: [
        {
          messageId: message.message_id,
          conversationId,
          role: 'user',
          senderId: message.sender.id,
          text: message.content.text,
          createdAt: userCreatedAt(message),
          inReplyTo: message.reply_to,
          ...(message.sender.device ? { device: message.sender.device } : {}),
        },
        { messageId: replyKeyFor(message.message_id), conversationId, role: 'assistant', senderId: 'hearth', text, createdAt, inReplyTo: message.message_id },
      ],
      answer: this.answerRecord(message, text, createdAt),
    });
    // Off the reply's path: what the next turn would drop is summarized now.
    this.compactor.schedule(conversationId);
    // Remembered for later recall; a failure here costs a memory, never the reply.
    recall?.remember(conversationId, message.content.text, 'message', message.message_id).catch((error: unknown) =>
      this.options.log.warn({ err: error instanceof Error ? error.message : String(error), conversationId }, 'recall could not store a message'),
    );
    return { text, createdAt };
  }

  /** `remember`/`forget`, then the plugins' tools for this turn; those needing the owner's approval ask first, or are left out. */
  private turnTools(message: Message): TurnTool[] {
    const builtin = this.options.longTerm?.toolsFor(message) ?? [];
    const offered = [...builtin, ...offeredTools(message, this.options).filter((tool) => builtin.length === 0 || !MEMORY_TOOL_NAMES.has(tool.name))];
    const { approvals } = this.options;
    if (!approvals) return offered.filter((tool) => !tool.needsApproval);
    return approvals.guard(offered, message, () => this.turns.get(message.message_id));
  }

  /**
   * An OpenAI-style completion: stateless. The request's own turns are the history; nothing is
   * read from memory or recall, nothing kept there but the answer record (so a redelivery is
   * answered again, not generated again). It streams and acks like any delivery.
   */
  private async complete(message: Message, completion: NonNullable<Message['completion']>, stream: boolean): Promise<Reply> {
    const { text, usage, stop } = await this.generateText(message, completionOptions(completion, (t) => this.modelText(t)), stream, false);
    const createdAt = replyCreatedAt(message);
    this.options.memory.recordAnswer({ ...this.answerRecord(message, text, createdAt), stop });
    return { text, createdAt, usage, ...(stop ? { stop } : {}) };
  }

  /** `/context`: the conversation's last prompt part by part, and whether a summary stands for older turns. */
  private async promptReport(conversationId: string): Promise<string> {
    const { session } = await this.options.memory.recall(conversationId);
    const parts = this.prompts.get(conversationId);
    const summary = session.summary ? `A summary (${this.options.engine.countTokens(session.summary)} tokens) stands for the older turns.` : 'No summary yet: every turn is kept as it is.';
    if (!parts) return `No model turn in this conversation since this core started.\n${summary}`;
    return `Tokens of the last prompt in this conversation:\n${describeParts(parts)}\n${summary}`;
  }

  /** Text as the model may read it: redacted when HEARTH_REDACT_MODEL_INPUT says so. */
  private modelText(text: string): string {
    const { redaction } = this.options;
    return redaction?.redactModelInput ? redact(text, { kinds: redaction.kinds }).text : text;
  }

  /** The model's input: the text (redacted when configured) and, with `recalled`, the sender's kept facts and what recall finds for it. */
  private async modelInput(message: Message, recalled: false | ReadonlySet<string>): Promise<{ message: Message; context: string[] }> {
    const { recall, longTerm, engine } = this.options;
    // A fact that cannot be recalled costs this turn its memories, never the reply.
    const kept =
      longTerm && recalled
        ? await longTerm.contextFor(message, (text) => engine.countTokens(text)).catch((error: unknown) => {
            this.options.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'memory items not recalled');
            return undefined;
          })
        : undefined;
    const found = recall && recalled ? await recall.contextFor(message.conversation.id, message.content.text, { skipRefs: recalled }) : undefined;
    const context = [...(kept?.lines ?? []).map((line) => this.modelText(line)), ...(found?.snippets ?? []).map((snippet) => snippet.excerpt)];
    return { message: { ...message, content: { ...message.content, text: this.modelText(message.content.text) } }, context };
  }

  /** Generates under the signals (stop, time limit, shutdown); `engineOptions` say what the model sees besides the message. */
  private async generateText(
    message: Message,
    engineOptions: Omit<ReplyOptions, 'signal' | 'onText' | 'context'>,
    streaming: boolean,
    /** false: no recall; else the ids of the messages already in the prompt, which recall leaves out. */
    recalled: false | ReadonlySet<string>,
  ): Promise<{ text: string; usage: TokenUsage; stop?: GenerationStop }> {
    const canceller = new AbortController();
    // Held while an approval waits for the owner: a person's answer is not generation time.
    const timeout = new TurnDeadline(this.options.generationTimeoutMs ?? 60_000);
    const signal = AbortSignal.any([this.abort.signal, canceller.signal, timeout.signal]);
    this.turns.set(message.message_id, { signal, hold: () => timeout.hold() });
    const stream = streaming ? new StreamBuffer(message.message_id, this.options.send) : undefined;
    this.cancellers.set(message.message_id, canceller);
    if (this.earlyCancels.delete(message.message_id)) canceller.abort(new Error('stopped by the sender'));
    try {
      const input = await this.modelInput(message, recalled);
      const generating = performance.now();
      let tokens = 0;
      let read = 0;
      let stop: GenerationStop | undefined;
      const text = await this.options.engine.reply(input.message, {
        ...engineOptions,
        signal,
        context: input.context,
        onTokens: (count) => {
          tokens += count;
        },
        onPromptTokens: (count) => {
          read = count;
        },
        onPromptParts: (parts) => {
          this.prompts.set(message.conversation.id, parts);
          this.options.metrics?.prompted?.(parts);
          this.options.log.debug({ conversationId: message.conversation.id, promptTokens: { ...parts, total: totalOf(parts) } }, 'prompt by part');
        },
        onStop: (end) => {
          stop = end;
        },
        ...(stream ? { onText: (chunk: string) => stream.push(chunk) } : {}),
      });
      stream?.close();
      this.options.metrics?.generated(tokens, (performance.now() - generating) / 1000);
      const usage = { prompt_tokens: read, completion_tokens: tokens };
      if (canceller.signal.aborted) {
        this.stoppedAt.set(message.conversation.id, Date.now());
        return { text: text.trim() === '' ? '(stopped)' : `${text}${STOPPED_MARK}`, usage };
      }
      if (timeout.aborted && !this.abort.signal.aborted) return { text: `${text.trim() === '' ? '(no reply in time)' : text}${TIMED_OUT_NOTE}`, usage };
      // Calls of the client's functions are the answer: no text beside them is not an empty reply.
      if (stop?.toolCalls) return { text, usage, stop };
      return { text: text.trim() === '' ? EMPTY_REPLY_NOTICE : text, usage, ...(stop ? { stop } : {}) };
    } finally {
      this.cancellers.delete(message.message_id);
      this.turns.delete(message.message_id);
      timeout.dispose();
    }
  }
}
