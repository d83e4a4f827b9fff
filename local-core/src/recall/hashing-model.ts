import { mulberry32 } from './hash.js';
import type { HashingModelParams } from './hashing-params.js';
import { ElemType, encodeModel, floatTensor, intAttr, intsAttr, node, tensorValue } from './onnx-graph.js';

export { HASHING_DEFAULTS, type HashingModelParams } from './hashing-params.js';

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
