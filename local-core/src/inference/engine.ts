import { setTimeout } from 'node:timers/promises';
import type { ClientTool, GenerationStop, Message, ResponseFormat, ToolChoice } from '@hearth/shared';
import type { PromptParts } from './prompt-accounting.js';

export interface ReplyOptions {
  /** Stops generation; the text produced so far is returned (not thrown away). */
  signal?: AbortSignal;
  /** Each piece of text as the model produces it, for streaming. */
  onText?: (text: string) => void;
  /**
   * How many tokens the model just generated, as it generates them: the exact count, where
   * {@link Engine.countTokens} re-tokenizes the text (which may split it differently).
   */
  onTokens?: (count: number) => void;
  /** How many tokens of input the model read for this reply (a completion's `usage.prompt_tokens`), once it is done. */
  onPromptTokens?: (count: number) => void;
  /** What the prompt of a conversation's turn is made of, in tokens, before generating (see prompt-accounting.ts). */
  onPromptParts?: (parts: PromptParts) => void;
  /** Snippets recalled for this turn, given to the model with the message. */
  context?: readonly string[];
  /**
   * The conversation so far as memory has it (oldest first), and its reset generation. An
   * engine that has no resident context for the conversation, or one of an older generation
   * (another core reset it), starts from these turns instead of from nothing.
   */
  history?: ConversationHistory;
  /**
   * A one-shot conversation (an OpenAI-style completion): `history` is all of it, and the
   * engine keeps nothing of it afterwards (no resident context, no sequence held).
   */
  ephemeral?: boolean;
  /** Most tokens to generate; the core's HEARTH_MAX_TOKENS caps it (and is the default). */
  maxTokens?: number;
  /** Sampling temperature (0: greedy, the default). */
  temperature?: number;
  /** Nucleus sampling: only the most likely tokens whose probabilities add up to this. */
  topP?: number;
  /**
   * The system prompt instead of HEARTH_SYSTEM_PROMPT (a completion's `system` turns), for a
   * context the engine starts now; a resident conversation keeps the one it started with.
   */
  systemPrompt?: string;
  /**
   * Functions the model may call in this turn (plugins' tools), each bound to the policy that
   * checks it; an engine without function calling ignores them.
   */
  tools?: readonly TurnTool[];
  /**
   * A completion's client functions and how the model may use them. They are never run here:
   * a call ends the generation and goes back to the client (see `onStop`).
   */
  clientTools?: ClientTools;
  /** A completion's reply shape (JSON), held by a grammar while generating. */
  responseFormat?: ResponseFormat;
  /**
   * The model goes on with its last turn of `history` (after the results of the calls it made)
   * instead of answering the message's text.
   */
  continueTurn?: boolean;
  /** How generation ended, once: with `tool_calls`, the calls (the reply's text is what the model said beside them). */
  onStop?: (stop: GenerationStop) => void;
}

/** Client functions offered for one completion: `choice` as OpenAI's `tool_choice`; `parallel`: more than one call a turn. */
export interface ClientTools {
  tools: readonly ClientTool[];
  choice: ToolChoice;
  parallel: boolean;
}

export type { GenerationStop };

/** A function offered to the model for one turn: a plugin's tool, its checks already bound in. */
export interface TurnTool {
  name: string;
  description: string;
  /** The arguments' JSON Schema (an object schema). */
  parameters: Readonly<Record<string, unknown>>;
  /**
   * Whether a call waits for the owner's yes first (a destructive or open-world MCP tool, the
   * owner's config, a plugin manifest): `call` then asks, and runs only after approval.
   */
  needsApproval?: boolean;
  /** Runs it; resolves with what the model is told: the result, or `{ error }` (never throws). */
  call(args: unknown): Promise<unknown>;
}

export interface ConversationHistory {
  generation: number;
  /** The running summary of turns before `turns` (compaction.ts), put at the start of the context. */
  summary?: string | undefined;
  turns: readonly HistoryTurn[];
}

export interface HistoryTurn {
  role: 'user' | 'assistant';
  text: string;
  /** A completion's assistant turn: the client's functions it called, each with what the client answered. */
  calls?: readonly AnsweredCall[];
}

export interface AnsweredCall {
  name: string;
  /** JSON text, as the model wrote it. */
  arguments: string;
  result: string;
}

/**
 * What turns a message into a reply. The model-backed engine is the product; `echo` is a
 * diagnostic (benchmarks of the delivery path measure the Relay and tunnel, not the model).
 */
export interface Engine {
  readonly name: string;
  /** The model's id as API clients see it (`GET /v1/models`, hello's `model.id`). */
  readonly modelId: string;
  /** Conversations it can generate for at once: the window the core grants the Relay. */
  readonly sequences: number;
  /** The reply to `message`, in the context of its conversation so far. */
  reply(message: Message, options?: ReplyOptions): Promise<string>;
  /** Forgets a conversation's context (`/reset`). */
  reset(conversationId: string): Promise<void>;
  /** One line for `/model` and logs: what runs, and how. */
  describe(): string;
  /** Tokens a text takes for this engine's model (for tokens/s). */
  countTokens(text: string): number;
  /**
   * Tokens a conversation's summary and turns may take when its context is built (the system
   * prompt's already taken off): past it, the oldest turns would be dropped. Undefined: no
   * budget, and no compaction (echo).
   */
  historyTokens?(): number;
  /**
   * A bounded one-shot generation outside every conversation's context and records (no reply
   * recorded for an experiment): compaction's summaries. Undefined: no compaction.
   */
  summarize?(text: string, options: { systemPrompt: string; maxTokens: number }): Promise<string>;
  /** Frees the model. Idempotent: a second call resolves and does nothing. */
  dispose(): Promise<void>;
}

/**
 * Diagnostic engine: answers with the message's own text (`HEARTH_ENGINE=echo`), after
 * `delayMs` (`HEARTH_ECHO_DELAY_MS`) so fault tests can have work genuinely in progress.
 */
export class EchoEngine implements Engine {
  readonly name = 'echo';
  readonly modelId = 'echo';

  constructor(
    private readonly delayMs = 0,
    readonly sequences = 4,
  ) {}

  /** The message's text; with `maxTokens`, its first that many words (words are its tokens). */
  async reply(message: Message, { signal, onText, onTokens, onPromptTokens, history, maxTokens }: ReplyOptions = {}): Promise<string> {
    if (this.delayMs > 0) await setTimeout(this.delayMs, undefined, signal ? { signal } : {}).catch(() => undefined);
    if (signal?.aborted) return '';
    const { text } = message.content;
    const reply = maxTokens === undefined ? text : text.split(/\s+/).filter(Boolean).slice(0, maxTokens).join(' ');
    onText?.(reply);
    onTokens?.(this.countTokens(reply));
    onPromptTokens?.([...(history?.turns ?? []), { text }].reduce((sum, turn) => sum + this.countTokens(turn.text), 0));
    return reply;
  }

  async reset(): Promise<void> {}

  describe(): string {
    return 'echo (diagnostic: repeats each message)';
  }

  /** Words stand in for tokens: there is no model. */
  countTokens(text: string): number {
    return text.split(/\s+/).filter(Boolean).length;
  }

  async dispose(): Promise<void> {}
}
