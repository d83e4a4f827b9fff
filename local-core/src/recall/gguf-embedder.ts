import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { type Llama, type LlamaEmbeddingContext, LlamaLogLevel, type LlamaModel, getLlama } from 'node-llama-cpp';
import { ConfigError } from '../errors.js';
import { l2Normalize, type Embedder } from './embedder.js';
import { InputTooLongError } from './errors.js';

export { InputTooLongError };

export interface GgufEmbedderOptions {
  /** A GGUF model; an embedding model (nomic-embed, bge, ...) gives vectors worth comparing. */
  modelPath: string;
  /** llama.cpp threads (default 1, so embedding never competes with the chat model). */
  threads?: number;
  /** Most tokens one text may have (default 4096, or less when the model was trained on less). */
  contextSize?: number;
}

/** The file's sha256 (first 12 hex digits), streamed: it names the vector space, not the path. */
async function digestOf(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex').slice(0, 12);
}

/**
 * An embedder on a GGUF model, run by node-llama-cpp (`createEmbeddingContext`): the vector is
 * what llama.cpp pools for the model, L2-normalised here. Texts are embedded one at a time (one
 * sequence, as node-llama-cpp's embedding context has).
 *
 * @example
 * const embedder = await GgufEmbedder.create({ modelPath: 'models/nomic-embed-text-v1.5.Q8_0.gguf' });
 */
export class GgufEmbedder implements Embedder {
  // As for sentence-embedding models: unrelated texts land near 0-0.2.
  readonly suggestedMinScore = 0.3;
  private disposed = false;

  private constructor(
    readonly name: string,
    readonly dimensions: number,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaEmbeddingContext,
    private readonly contextSize: number,
  ) {}

  /**
   * Loads the model and its embedding context.
   *
   * @throws ConfigError naming HEARTH_EMBED_MODEL when the file cannot be read or loaded
   */
  static async create(options: GgufEmbedderOptions): Promise<GgufEmbedder> {
    const { modelPath } = options;
    let digest: string;
    try {
      digest = await digestOf(modelPath);
    } catch (cause) {
      throw new ConfigError(`HEARTH_EMBED_MODEL: cannot read ${modelPath}; set it to a .gguf (or .onnx) embedding model, or unset it for the built-in embedder`, { cause });
    }
    const llama = await getLlama({ gpu: 'auto', logLevel: LlamaLogLevel.error });
    try {
      const model = await llama.loadModel({ modelPath, gpuLayers: 'auto' });
      const contextSize = Math.min(options.contextSize ?? 4096, model.trainContextSize);
      const context = await model.createEmbeddingContext({ contextSize, batchSize: contextSize, threads: options.threads ?? 1 });
      const dimensions = model.embeddingVectorSize;
      if (dimensions <= 0) throw new ConfigError(`HEARTH_EMBED_MODEL: ${modelPath} gives no embedding vector`);
      return new GgufEmbedder(`gguf/${basename(modelPath)}@${digest}`, dimensions, llama, model, context, contextSize);
    } catch (cause) {
      await llama.dispose();
      if (cause instanceof ConfigError) throw cause;
      throw new ConfigError(`HEARTH_EMBED_MODEL: node-llama-cpp cannot embed with ${modelPath}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
  }

  /** Tokens the model reads for `text` (with the tokens it adds around it). */
  countTokens(text: string): number {
    return this.context.calculateInputLength(text);
  }

  /**
   * @throws InputTooLongError for a text past the context (checked for every text first, so
   * nothing is computed for a request that fails)
   */
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.disposed) throw new Error(`embedder ${this.name} is disposed`);
    for (const [index, text] of texts.entries()) {
      const tokens = this.countTokens(text);
      if (tokens >= this.contextSize) throw new InputTooLongError(index, tokens, this.contextSize);
    }
    const vectors: Float32Array[] = [];
    for (const text of texts) {
      const { vector } = await this.context.getEmbeddingFor(text);
      // A text of no tokens has no vector: the zero vector, as the Embedder contract says.
      vectors.push(vector.length === 0 ? new Float32Array(this.dimensions) : l2Normalize(Float32Array.from(vector)));
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
