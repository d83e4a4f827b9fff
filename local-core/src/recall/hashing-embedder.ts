import type { InferenceSession } from 'onnxruntime-node';
import { batches, sessionOptions, type Embedder } from './embedder.js';
import { featuriseBatch } from './features.js';
import { HASHING_DEFAULTS, type HashingModelParams } from './hashing-params.js';

/** Bump when features.ts changes what a text hashes to: stored vectors then stop matching. */
const HASHING_VERSION = 'v1';

const BATCH = 32;

export interface HashingEmbedderOptions {
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /** Buckets, dimensions and seed (defaults: {@link HASHING_DEFAULTS}). */
  params?: Partial<HashingModelParams>;
}

/**
 * The built-in embedder: hashed word and character n-gram features (computed in JS) through a
 * seeded random projection and L2 normalisation (an ONNX graph built in code and run by
 * onnxruntime-node). No download, no training, deterministic: two cores with the same
 * parameters give identical vectors. It matches shared words and word pieces, not synonyms;
 * configure a sentence-embedding model for that. onnxruntime and the graph (together ~40 MB
 * resident) are loaded on the first `embed`, so a core that never recalls never holds them.
 *
 * @example
 * const embedder = await HashingEmbedder.create();
 * const [v] = await embedder.embed(['dentist on Tuesday']);
 */
export class HashingEmbedder implements Embedder {
  readonly name: string;
  readonly dimensions: number;
  // Measured on notes-sized chunks: keeps ~90% of single-topic matches, lets ~8% of unrelated
  // queries through (hashing and projection noise, shared character grams). See HASHING_DEFAULTS.
  readonly suggestedMinScore = 0.12;
  private disposed = false;
  private session: Promise<InferenceSession> | undefined;

  private constructor(
    readonly params: HashingModelParams,
    private readonly threads: number,
  ) {
    this.name = `hearth-hash-${HASHING_VERSION}/${params.buckets}x${params.dimensions}/s${params.seed}`;
    this.dimensions = params.dimensions;
  }

  /** Checks the parameters; the graph is built (a few tens of milliseconds) when first needed. */
  static async create(options: HashingEmbedderOptions = {}): Promise<HashingEmbedder> {
    const params = { ...HASHING_DEFAULTS, ...options.params };
    if (!Number.isInteger(Math.log2(params.buckets))) throw new Error(`buckets must be a power of two, got ${params.buckets}`);
    return new HashingEmbedder(params, options.threads ?? 1);
  }

  /** The onnxruntime session, created once; a failed creation is retried by the next call. */
  private sessionOnce(): Promise<InferenceSession> {
    this.session ??= (async () => {
      const [{ InferenceSession }, { buildHashingModel }] = await Promise.all([import('onnxruntime-node'), import('./hashing-model.js')]);
      return InferenceSession.create(buildHashingModel(this.params), sessionOptions(this.threads));
    })().catch((error: unknown) => {
      this.session = undefined;
      throw error;
    });
    return this.session;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.disposed) throw new Error(`embedder ${this.name} is disposed`);
    const { buckets, dimensions } = this.params;
    const session = await this.sessionOnce();
    const { Tensor } = await import('onnxruntime-node');
    const vectors: Float32Array[] = [];
    for (const batch of batches(texts, BATCH)) {
      const features = new Tensor('float32', featuriseBatch(batch, buckets), [batch.length, buckets]);
      const { embedding } = await session.run({ features });
      const data = embedding?.data;
      if (!(data instanceof Float32Array)) throw new Error('the hashing graph gave no float32 embedding');
      // Copies, so each vector owns its memory rather than pinning the whole batch output.
      for (let i = 0; i < batch.length; i++) vectors.push(data.slice(i * dimensions, (i + 1) * dimensions));
    }
    return vectors;
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // A session being created is released once it exists.
    const session = await this.session?.catch(() => undefined);
    await session?.release();
  }
}
