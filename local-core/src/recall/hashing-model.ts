import { mulberry32 } from './hash.js';
import { ElemType, encodeModel, floatTensor, intAttr, intsAttr, node, tensorValue } from './onnx-graph.js';

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

/** Achlioptas' sparsity: two thirds of the entries are zero, at no cost to the guarantees. */
const SPARSITY = 3;

/**
 * The deterministic random projection [buckets, dimensions], row-major: entries are
 * +√(s/k), 0, −√(s/k) with probabilities 1/2s, 1 − 1/s, 1/2s (Achlioptas 2003, s = 3), which
 * preserves cosines in expectation (Johnson–Lindenstrauss).
 */
export function projectionMatrix({ buckets, dimensions, seed }: HashingModelParams): Float32Array {
  const random = mulberry32(seed);
  const value = Math.sqrt(SPARSITY / dimensions);
  const matrix = new Float32Array(buckets * dimensions);
  for (let i = 0; i < matrix.length; i++) {
    const r = random() * 2 * SPARSITY;
    if (r < 1) matrix[i] = value;
    else if (r < 2) matrix[i] = -value;
  }
  return matrix;
}

/**
 * The built-in embedder's ONNX graph: features float32 [N, buckets] → MatMul(projection) →
 * divide by max(‖row‖₂, ε) → embedding float32 [N, dimensions]. ε keeps an empty text at the
 * zero vector instead of NaN. Built in code, so nothing is downloaded and nothing is shipped.
 *
 * @example
 * const session = await InferenceSession.create(buildHashingModel(HASHING_DEFAULTS));
 */
export function buildHashingModel(params: HashingModelParams): Uint8Array {
  const { buckets, dimensions, seed } = params;
  return encodeModel({
    name: 'hearth_hashing_embedder',
    inputs: [tensorValue('features', ElemType.FLOAT, ['batch', buckets])],
    outputs: [tensorValue('embedding', ElemType.FLOAT, ['batch', dimensions])],
    initializers: [floatTensor('projection', [buckets, dimensions], projectionMatrix(params)), floatTensor('epsilon', [], new Float32Array([1e-12]))],
    nodes: [
      node('MatMul', ['features', 'projection'], ['projected']),
      node('ReduceL2', ['projected'], ['norm'], [intsAttr('axes', [1]), intAttr('keepdims', 1)]),
      node('Max', ['norm', 'epsilon'], ['safe_norm']),
      node('Div', ['projected', 'safe_norm'], ['embedding']),
    ],
    metadata: { buckets: String(buckets), dimensions: String(dimensions), seed: String(seed) },
  });
}
