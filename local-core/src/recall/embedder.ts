import type { InferenceSession } from 'onnxruntime-node';

/**
 * Turns texts into unit vectors whose dot product says how close two texts are in meaning.
 * Vectors are stored with the embedder's `name`, so a change of model or of its version never
 * compares vectors from two different spaces.
 */
export interface Embedder {
  /** Identifies the vector space: model, version and parameters, e.g. `hearth-hash-v1/4096x512/s322087`. */
  readonly name: string;
  readonly dimensions: number;
  /**
   * Cosine below which a hit is likely noise for this embedder; recall uses it when the caller
   * gives no `minScore`.
   */
  readonly suggestedMinScore: number;
  /** One L2-normalised vector per text, in order (the zero vector for a text with no features). */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Tokens the model reads for `text`, for OpenAI's `usage`; embedders without a tokenizer count words. */
  countTokens?(text: string): number;
  dispose(): Promise<void>;
}

/** Session options for embedding on CPU: few threads, so recall never competes with the LLM. */
export function sessionOptions(threads: number): InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // Warnings such as "initializer not used" would land in the CLI's stderr.
    logSeverityLevel: 3,
  };
}

/** Scales `v` to unit length in place (the zero vector stays zero); returns it. */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] ?? 0) / norm;
  return v;
}

/** Dot product; for unit vectors, their cosine. */
export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += (a[i] ?? 0) * (b[i] ?? 0);
  return sum;
}

/** `items` in slices of at most `size`, to bound the memory of one inference run. */
export function* batches<T>(items: readonly T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
