import type { Message } from '@hearth/shared';
import {
  LlamaChatSession,
  LlamaLogLevel,
  getLlama,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
} from 'node-llama-cpp';
import type { CoreConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { Engine } from './engine.js';
import { resolveModelPath } from './model-path.js';

/** The engine's part of the core configuration (see config.ts for each setting). */
export type LlamaEngineOptions = Pick<
  CoreConfig,
  'modelPath' | 'modelsDirs' | 'threads' | 'sequences' | 'contextSize' | 'maxTokens' | 'systemPrompt'
>;

interface Conversation {
  sequence: LlamaContextSequence;
  session: LlamaChatSession;
  busy: boolean;
}

/**
 * The node-llama-cpp engine: one model, one context with `sequences` sequences, and a chat
 * session per conversation kept resident between turns (its evaluated tokens are reused, not
 * recomputed). When all sequences are taken, the least recently used idle conversation gives
 * its sequence up.
 */
export class LlamaEngine implements Engine {
  readonly name = 'llama';
  /** Map order is recency: the first entry is the least recently used. */
  private readonly conversations = new Map<string, Conversation>();

  private constructor(
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly options: LlamaEngineOptions,
    readonly modelPath: string,
  ) {}

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
    const context = await model.createContext({
      sequences: options.sequences,
      contextSize: { max: options.contextSize },
      threads: options.threads,
    });
    log.info(
      {
        modelPath,
        backend: llama.gpu || 'cpu',
        gpuLayers: model.gpuLayers,
        layers: model.fileInsights.totalLayers,
        contextSize: context.contextSize,
        sequences: context.totalSequences,
        threads: options.threads,
        loadMs: Math.round(performance.now() - started),
      },
      'model loaded',
    );
    return new LlamaEngine(llama, model, context, options, modelPath);
  }

  async reply(message: Message, { signal }: { signal?: AbortSignal } = {}): Promise<string> {
    const conversation = this.conversationFor(message.conversation.id);
    conversation.busy = true;
    try {
      const text = await conversation.session.prompt(message.content.text, {
        maxTokens: this.options.maxTokens,
        ...(signal ? { signal, stopOnAbortSignal: true } : {}),
      });
      return text.trim();
    } finally {
      conversation.busy = false;
    }
  }

  async dispose(): Promise<void> {
    for (const { session } of this.conversations.values()) session.dispose();
    this.conversations.clear();
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }

  private conversationFor(id: string): Conversation {
    const existing = this.conversations.get(id);
    if (existing) {
      this.conversations.delete(id);
      this.conversations.set(id, existing);
      return existing;
    }
    if (this.context.sequencesLeft === 0) this.evictIdle();
    const sequence = this.context.getSequence();
    const session = new LlamaChatSession({
      contextSequence: sequence,
      systemPrompt: this.options.systemPrompt,
      autoDisposeSequence: true,
    });
    const conversation = { sequence, session, busy: false };
    this.conversations.set(id, conversation);
    return conversation;
  }

  private evictIdle(): void {
    for (const [id, conversation] of this.conversations) {
      if (conversation.busy) continue;
      // Disposing the session disposes its sequence, which returns it to the context.
      conversation.session.dispose();
      this.conversations.delete(id);
      return;
    }
    // The pipeline never runs more conversations at once than there are sequences.
    throw new Error('all context sequences are busy: more concurrent conversations than HEARTH_SEQUENCES');
  }
}
