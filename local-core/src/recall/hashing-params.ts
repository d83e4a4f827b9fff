// Apart from the graph's code, so the embedder is configured without loading onnx-proto.

/** Parameters of the built-in embedder; every one of them is part of its name. */
export interface HashingModelParams {
  /** Feature buckets (a power of two): the width of the hashed input. */
  buckets: number;
  /** Output dimensions. */
  dimensions: number;
  /** PRNG seed of the projection. */
  seed: number;
}

/**
 * Both the hashing (1/√buckets) and the projection (1/√dimensions) add noise to cosines, about
 * √(1/4096 + 1/512) ≈ 0.047 here; a query sharing one word with an 800-character chunk scores
 * only ~0.1, so 256 dimensions (≈ 0.064) let a third of unrelated queries through a 0.1
 * threshold in our measurements, 512 about a tenth. A stored vector costs 2 KiB; the
 * projection, 8 MiB in memory, is rebuilt in ~60 ms.
 */
export const HASHING_DEFAULTS: HashingModelParams = { buckets: 4096, dimensions: 512, seed: 0x4ea27 };
