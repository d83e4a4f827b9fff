import { describe, expect, it } from 'vitest';
import { MAX_FRAME_BYTES, encodeFrame } from './codec.js';
import { EMBED_MAX_INPUTS, EMBED_RESULT_MAX_BYTES, base64ToFloat32, float32ToBase64, maxEmbedInputs } from './embed.js';

describe('embedding vectors over the tunnel', () => {
  it('encode as little-endian float32 base64 (what the openai SDK decodes) and back, exactly', () => {
    const vector = Float32Array.from([1, -0.5, 1 / 3, 3.4028234663852886e38, -0, 1e-45]);
    const encoded = float32ToBase64(vector);
    const bytes = Uint8Array.from(atob(encoded), (ch) => ch.charCodeAt(0));
    // As the SDK reads them in a browser; DataView says the order is little-endian.
    expect(Array.from(new Float32Array(bytes.buffer))).toEqual(Array.from(vector));
    expect(new DataView(bytes.buffer).getFloat32(4, true)).toBe(-0.5);
    expect(Array.from(base64ToFloat32(encoded)!)).toEqual(Array.from(vector));
    expect(base64ToFloat32('AAA=')).toBeUndefined();
    expect(base64ToFloat32('not base64!')).toBeUndefined();
  });

  it('bound the texts of one request so that the answer fits one frame', () => {
    expect(maxEmbedInputs(512)).toBe(EMBED_MAX_INPUTS);
    expect(maxEmbedInputs(4096)).toBe(35);
    expect(maxEmbedInputs(65_536)).toBe(2);
    for (const dimensions of [64, 512, 1024, 4096]) {
      const vectors = Array.from({ length: maxEmbedInputs(dimensions) }, () => float32ToBase64(new Float32Array(dimensions).fill(0.1)));
      const frame = encodeFrame({ type: 'embed_result', request_id: crypto.randomUUID(), ok: true, vectors, prompt_tokens: 1_000_000 });
      expect(JSON.stringify(vectors).length).toBeLessThanOrEqual(EMBED_RESULT_MAX_BYTES);
      expect(frame.length).toBeLessThan(MAX_FRAME_BYTES);
    }
  });
});
