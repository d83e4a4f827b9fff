import { freemem } from 'node:os';
import { basename } from 'node:path';
import type { Message } from '@hearth/shared';
import {
  LlamaChat,
  LlamaChatSession,
  LlamaLogLevel,
  type ChatHistoryItem,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from 'node-llama-cpp';
import type { CoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ConversationHistory, Engine, ReplyOptions } from './engine.js';
import { HISTORY_BUDGET, trimHistory } from './history-budget.js';
import { resolveModelPath } from './model-path.js';
import { withRecalled } from './prompt.js';
import { promptParts, summaryItem } from './prompt-accounting.js';
import { generateCompletion } from './llama-completion.js';
import { chatFunctionsFor } from './tool-functions.js';

/** The engine's part of the core configuration (see config.ts for each setting). */
export type LlamaEngineOptions = Pick<CoreConfig, 'modelPath' | 'modelsDirs' | 'threads' | 'contextSize' | 'maxTokens' | 'systemPrompt'> & {
  /** Parallel conversations; undefined: as many as free memory allows (see {@link sequencesFor}). */
  sequences: number | undefined;
  /** A LoRA adapter (GGUF) applied to the model in its context, at `scale` (an experiment variant's). */
  lora?: { path: string; scale: number } | undefined;
};

interface Conversation {
  sequence: LlamaContextSequence;
  session: LlamaChatSession;
  busy: boolean;
  /** The reset generation its context belongs to. */
  generation: number;
  /** The running summary it was started with: a newer one rebuilds the context. */
  summary: string | undefined;
  /** Its system prompt, for accounting. */
  system: string;
}

/** Most sequences picked on our own; more is configuration (HEARTH_SEQUENCES). */
const MAX_DEFAULT_SEQUENCES = 8;
/** Share of free memory the contexts may take when the number of sequences is ours to pick. */
const MEMORY_SHARE = 0.5;

/**
 * How many sequences fit: the most (up to 8) whose context memory, as node-llama-cpp estimates
 * it for this model, stays within half of the free RAM (and VRAM when layers are offloaded).
 */
async function sequencesFor(llama: Llama, model: LlamaModel, contextSize: number): Promise<number> {
  const freeVram = model.gpuLayers > 0 ? (await llama.getVramState()).free : Number.POSITIVE_INFINITY;
  for (let n = MAX_DEFAULT_SEQUENCES; n > 1; n--) {
    const need = await model.fileInsights.estimateContextResourceRequirementsV2({ contextSize, modelGpuLayers: model.gpuLayers, sequences: n });
    if (need.cpuRam <= freemem() * MEMORY_SHARE && need.gpuVram <= freeVram * MEMORY_SHARE) return n;
  }
  return 1;
}

/**
 * A system prompt cut to 1/8 of the context at most: small local models lose the conversation
 * under a long one, and the rest of the context is for the turns and the reply.
 */
function fitSystemPrompt(model: LlamaModel, context: LlamaContext, prompt: string): { text: string; tokens: number; kept: number } {
  const tokens = model.tokenize(prompt);
  const budget = Math.floor(context.contextSize / 8);
  if (tokens.length <= budget) return { text: prompt, tokens: tokens.length, kept: tokens.length };
  return { text: model.detokenize(tokens.slice(0, budget)), tokens: tokens.length, kept: budget };
}

/**
 * The node-llama-cpp engine: one model, one context with several sequences so that concurrent
 * conversations are evaluated in the same batches, and a chat session per conversation kept
 * resident between turns (its evaluated tokens are reused, not recomputed). When all sequences
 * are taken, the least recently used idle conversation gives its sequence up. A conversation's
 * history is trimmed before it fills its context (see history-budget.ts). An ephemeral
 * conversation (a completion) borrows a sequence for one generation and gives it back cleared.
 */
export class LlamaEngine implements Engine {
  readonly name = 'llama';
  /** The file's name without `.gguf`: what API clients ask for as `model`. */
  readonly modelId: string;
  /** Map order is recency: the first entry is the least recently used. */
  private readonly conversations = new Map<string, Conversation>();
  /** Sequences given up by reset conversations, cleared and ready for the next one. */
  private readonly spare: LlamaContextSequence[] = [];
  private disposing: Promise<void> | undefined;

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly options: LlamaEngineOptions,
    readonly modelPath: string,
    private readonly log: Logger,
  ) {
    // At most 256 characters, as hello's model.id allows; never empty (a file named `.gguf`).
    this.modelId = basename(modelPath).replace(/\.gguf$/i, '').slice(0, 256) || 'model';
  }

  /**
   * Resolves and loads the model once. GPU backends (CUDA, Vulkan, Metal) are picked by
   * node-llama-cpp's detection, CPU when there is none; the choice is logged.
   *
   * @throws ModelNotFoundError when no model file is found
   */
  static async create(options: LlamaEngineOptions, log: Logger): Promise<LlamaEngine> {
    const modelPath = await resolveModelPath(options.modelPath, options.modelsDirs);
    const llama = await getLlama({
      gpu: 'auto',
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => log.debug({ llama: level }, message.trim()),
    });
    const started = performance.now();
    const model = await llama.loadModel({ modelPath, gpuLayers: 'auto' });
    const sequences = options.sequences ?? (await sequencesFor(llama, model, options.contextSize));
    const context = await model.createContext({
      sequences,
      contextSize: { max: options.contextSize },
      threads: options.threads,
      ...(options.lora ? { lora: { adapters: [{ filePath: options.lora.path, scale: options.lora.scale }] } } : {}),
    });
    const { text: systemPrompt, tokens: systemTokens, kept } = fitSystemPrompt(model, context, options.systemPrompt);
    if (systemPrompt !== options.systemPrompt) {
      log.warn({ systemTokens, kept }, 'HEARTH_SYSTEM_PROMPT is over 1/8 of the context: cut to fit; shorten it');
    }
    log.info(
      {
        modelPath,
        backend: llama.gpu || 'cpu',
        gpuLayers: model.gpuLayers,
        layers: model.fileInsights.totalLayers,
        contextSize: context.contextSize,
        sequences: context.totalSequences,
        sequencesFrom: options.sequences === undefined ? 'free memory' : 'HEARTH_SEQUENCES',
        threads: options.threads,
        loadMs: Math.round(performance.now() - started),
      },
      'model loaded',
    );
    return new LlamaEngine(llama, model, context, { ...options, systemPrompt }, modelPath, log);
  }

  get sequences(): number {
    return this.context.totalSequences;
  }

  async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    if (options.ephemeral) return this.complete(options.continueTurn ? undefined : withRecalled(message.content.text, options.context ?? []), options);
    const { signal, onText, context = [], history } = options;
    const id = message.conversation.id;
    const conversation = await this.conversationFor(id, history, options.systemPrompt);
    conversation.busy = true;
    const metered = conversation.sequence.tokenMeter.getState();
    try {
      options.onPromptParts?.(
        promptParts(
          { system: conversation.system, history: conversation.session.getChatHistory(), tools: options.tools ?? [], recalled: context, message: message.content.text },
          (text) => this.countTokens(text),
        ),
      );
      const prompt = (functions: ReturnType<typeof chatFunctionsFor> | undefined) => conversation.session.prompt(withRecalled(message.content.text, context), {
        // The core's limit caps what a client asks for.
        maxTokens: Math.min(options.maxTokens ?? this.options.maxTokens, this.options.maxTokens),
        ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
        ...(options.topP !== undefined ? { topP: options.topP } : {}),
        ...(onText ? { onTextChunk: onText } : {}),
        ...(options.onTokens ? { onToken: (tokens: readonly unknown[]) => options.onTokens?.(tokens.length) } : {}),
        ...(signal ? { signal, stopOnAbortSignal: true } : {}),
        ...(functions ? { functions } : {}),
      });
      // Plugins' tools for this turn; their handlers check policy and arguments themselves.
      const functions = options.tools && options.tools.length > 0 ? chatFunctionsFor(options.tools) : undefined;
      const text = await prompt(functions).catch((error: unknown) => {
        // Their descriptions go in the system prompt; on a small context they may not fit, and a
        // reply without tools beats none (nothing was generated or kept before this fails).
        if (!functions || !(error instanceof Error) || !/fits the context size/.test(error.message)) throw error;
        this.log.warn({ conversationId: id, tools: options.tools?.length, contextSize: this.context.contextSize }, 'plugin tools left out of this turn: their descriptions do not fit the context');
        return prompt(undefined);
      });
      options.onPromptTokens?.(conversation.sequence.tokenMeter.diff(metered).usedInputTokens);
      this.keepWithinBudget(id, conversation);
      options.onStop?.({ reason: 'stop' });
      return text.trim();
    } finally {
      conversation.busy = false;
    }
  }

  /**
   * An OpenAI-style completion: the request's turns on a borrowed sequence, given back cleared
   * as a reset conversation's is (a completion never keeps one). See llama-completion.ts.
   */
  private async complete(input: string | undefined, options: ReplyOptions, cap = this.options.maxTokens): Promise<string> {
    const sequence = await this.takeSequence();
    const chat = new LlamaChat({ contextSequence: sequence });
    const metered = sequence.tokenMeter.getState();
    try {
      const { text, stop } = await generateCompletion(this.llama, chat, {
        system: options.systemPrompt === undefined ? this.options.systemPrompt : fitSystemPrompt(this.model, this.context, options.systemPrompt).text,
        turns: options.history?.turns ?? [],
        text: input,
        maxTokens: Math.min(options.maxTokens ?? cap, cap),
        options,
        fit: (history) => trimHistory(history, this.historyBudget(), (t) => this.model.tokenize(t).length),
      });
      // What the sequence evaluated as input: a cleared sequence, so the whole prompt.
      options.onPromptTokens?.(sequence.tokenMeter.diff(metered).usedInputTokens);
      options.onStop?.(stop);
      return text.trim();
    } finally {
      chat.dispose({ disposeSequence: false });
      await sequence.clearHistory();
      this.spare.push(sequence);
    }
  }

  /** A one-shot generation on a borrowed sequence, as a completion is (compaction's summaries). */
  summarize(text: string, options: { systemPrompt: string; maxTokens: number }): Promise<string> {
    // Bounded by the summary's own budget, not by HEARTH_MAX_TOKENS (a reply's).
    return this.complete(text, { ...options, history: { generation: 0, turns: [] } }, options.maxTokens);
  }

  async reset(conversationId: string): Promise<void> {
    const conversation = this.conversations.get(conversationId);
    if (!conversation || conversation.busy) return;
    this.conversations.delete(conversationId);
    this.spare.push(await this.release(conversation));
  }

  /** Tokens a resident conversation takes in its sequence, of the context size; undefined when not resident. */
  contextUsage(conversationId: string): { used: number; size: number } | undefined {
    const conversation = this.conversations.get(conversationId);
    return conversation ? { used: conversation.sequence.nextTokenIndex, size: this.context.contextSize } : undefined;
  }

  countTokens(text: string): number {
    return this.model.tokenize(text).length;
  }

  describe(): string {
    const backend = this.llama.gpu || 'cpu';
    return `${basename(this.modelPath)} on ${backend}, context ${this.context.contextSize} tokens, ${this.sequences} conversations at once`;
  }

  dispose(): Promise<void> {
    // One teardown: a second call (the core's and a test's) waits for the first instead of racing it.
    this.disposing ??= (async () => {
      for (const { session } of this.conversations.values()) session.dispose();
      this.conversations.clear();
      await this.context.dispose();
      await this.model.dispose();
      await this.llama.dispose();
    })();
    return this.disposing;
  }

  /** Trims a conversation's history once its evaluated tokens near the end of its context. */
  private keepWithinBudget(id: string, conversation: Conversation): void {
    const size = this.context.contextSize;
    const used = conversation.sequence.nextTokenIndex;
    if (used <= size * HISTORY_BUDGET.trimAt && used + this.options.maxTokens <= size) return;
    const before = conversation.session.getChatHistory();
    const after = trimHistory(before, this.historyBudget(), (text) => this.model.tokenize(text).length);
    conversation.session.setChatHistory(after);
    this.log.debug({ conversationId: id, usedTokens: used, contextSize: size, items: `${before.length} → ${after.length}` }, 'history trimmed');
  }

  /**
   * The conversation's resident context, or a new one started from `history` (after an eviction,
   * a restart, or a reset on another core: memory's turns, trimmed to the budget).
   */
  private async conversationFor(id: string, history: ConversationHistory | undefined, systemPrompt: string | undefined): Promise<Conversation> {
    const existing = this.conversations.get(id);
    // A busy one keeps its context even if another core reset the conversation meanwhile.
    if (existing && (!history || (existing.generation === history.generation && existing.summary === history.summary) || existing.busy)) {
      this.conversations.delete(id);
      this.conversations.set(id, existing);
      return existing;
    }
    if (existing) await this.reset(id);
    const conversation = await this.start(history, systemPrompt);
    this.conversations.set(id, conversation);
    return conversation;
  }

  /** A session on a free sequence, seeded with `history`; not resident until the caller makes it so. */
  private async start(history: ConversationHistory | undefined, systemPrompt: string | undefined): Promise<Conversation> {
    const sequence = await this.takeSequence();
    const system = systemPrompt === undefined ? this.options.systemPrompt : fitSystemPrompt(this.model, this.context, systemPrompt).text;
    const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: system, autoDisposeSequence: true });
    if (history && (history.turns.length > 0 || history.summary)) {
      const turns: ChatHistoryItem[] = history.turns.map((turn) =>
        turn.role === 'user' ? { type: 'user', text: turn.text } : { type: 'model', response: [turn.text] },
      );
      // The summary is a system item after the prompt: trimming keeps it, as it keeps the prompt.
      const opening = [...session.getChatHistory(), ...(history.summary ? [summaryItem(history.summary)] : [])];
      session.setChatHistory(trimHistory([...opening, ...turns], this.historyBudget(), (text) => this.model.tokenize(text).length));
    }
    return { sequence, session, busy: false, generation: history?.generation ?? 0, summary: history?.summary, system };
  }

  /** A free sequence: a spare one, a new one while the context has any left, else an idle conversation's. */
  private async takeSequence(): Promise<LlamaContextSequence> {
    return this.spare.pop() ?? (this.context.sequencesLeft > 0 ? this.context.getSequence() : await this.evictIdle());
  }

  /** Tokens of history a conversation keeps after trimming, leaving room for replies. */
  private historyBudget(): number {
    const size = this.context.contextSize;
    return Math.max(0, Math.min(size * HISTORY_BUDGET.keep, size - 2 * this.options.maxTokens));
  }

  historyTokens(): number {
    return Math.max(0, Math.floor(this.historyBudget()) - this.countTokens(this.options.systemPrompt));
  }

  /**
   * Takes the sequence of the least recently used idle conversation. The sequence is handed
   * over, cleared, rather than disposed: the context reclaims a disposed sequence only later,
   * asynchronously, so a new conversation could find none left.
   */
  private async evictIdle(): Promise<LlamaContextSequence> {
    for (const [id, conversation] of this.conversations) {
      if (conversation.busy) continue;
      // Out of the map at once: a concurrent caller picks another one.
      this.conversations.delete(id);
      return this.release(conversation);
    }
    // The pipeline never runs more conversations at once than there are sequences.
    throw new Error('all context sequences are busy: more concurrent conversations than HEARTH_SEQUENCES');
  }

  /** Ends a conversation's session and returns its sequence, emptied, for another one. */
  private async release(conversation: Conversation): Promise<LlamaContextSequence> {
    conversation.session.dispose({ disposeSequence: false });
    await conversation.sequence.clearHistory();
    return conversation.sequence;
  }
}
