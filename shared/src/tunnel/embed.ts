/**
 * Bounds and the vector encoding of embedding requests over the tunnel (`embed` /
 * `embed_result`). Both ends import them, so the edge refuses what a frame could not carry
 * before it asks a core, and the core never answers with a frame the codec would refuse.
 */

/** Most texts in one request (OpenAI allows 2048; one tunnel frame carries the answer). */
export const EMBED_MAX_INPUTS = 256;

/** Most bytes of the inputs, as the `embed` frame carries them (JSON strings, UTF-8). */
export const EMBED_INPUT_MAX_BYTES = 768 * 1024;

/**
 * Most bytes of vectors in one `embed_result`. Under the codec's MAX_FRAME_BYTES and the 1 MiB a
 * WebSocket message to a Durable Object may carry, with room for the rest of the frame.
 */
export const EMBED_RESULT_MAX_BYTES = 768 * 1024;

/** Characters of one vector of `dimensions` as base64 float32, with its quotes and comma in a JSON array. */
const encodedVectorBytes = (dimensions: number) => 4 * Math.ceil((dimensions * 4) / 3) + 3;

/**
 * Most texts one request may embed with a model of `dimensions`: the answer must fit one frame.
 *
 * @example
 * maxEmbedInputs(512); // 256 (EMBED_MAX_INPUTS); maxEmbedInputs(4096): 35
 */
export const maxEmbedInputs = (dimensions: number): number =>
  Math.max(1, Math.min(EMBED_MAX_INPUTS, Math.floor(EMBED_RESULT_MAX_BYTES / encodedVectorBytes(dimensions))));

/**
 * A vector as OpenAI's `encoding_format: base64` carries it: float32, little-endian, base64.
 * The tunnel carries vectors so too (a quarter of the JSON numbers' size, and exact).
 */
export function float32ToBase64(vector: Float32Array): string {
  const view = new DataView(new ArrayBuffer(vector.length * 4));
  for (const [i, x] of vector.entries()) view.setFloat32(i * 4, x, true);
  const bytes = new Uint8Array(view.buffer);
  let binary = '';
  // In slices: String.fromCharCode takes its bytes as arguments, and arguments are bounded.
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return btoa(binary);
}

/** The inverse of {@link float32ToBase64}; undefined when `text` is not base64 of whole float32s. */
export function base64ToFloat32(text: string): Float32Array | undefined {
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return undefined;
  }
  if (binary.length % 4 !== 0) return undefined;
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  return Float32Array.from({ length: binary.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}
