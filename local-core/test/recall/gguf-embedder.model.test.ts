import { base64ToFloat32 } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRecallConfig } from '../../src/recall/config.js';
import { createEmbedder } from '../../src/recall/create-embedder.js';
import type { Embedder } from '../../src/recall/embedder.js';
import { dot } from '../../src/recall/embedder.js';
import { GgufEmbedder } from '../../src/recall/gguf-embedder.js';
import { answerEmbed, embeddingModelOf } from '../../src/tunnel/embed-answer.js';
import { TEST_MODEL, silentLogger } from '../support.js';

const disposers: Embedder[] = [];
afterEach(async () => {
  for (const embedder of disposers.splice(0)) await embedder.dispose();
});

describe('HEARTH_EMBED_MODEL naming a GGUF (stories260K: not an embedding model, but the path is real)', () => {
  it('is loaded by node-llama-cpp with no tokenizer file, and answers embed frames with unit vectors of the model\'s size', async () => {
    const embedder = await createEmbedder(loadRecallConfig({ HEARTH_EMBED_MODEL: TEST_MODEL }));
    disposers.push(embedder);
    expect(embedder).toBeInstanceOf(GgufEmbedder);
    const model = embeddingModelOf(embedder);
    expect(model).toMatchObject({ kind: 'embedding', id: expect.stringMatching(/^gguf\/stories260K\.gguf@[0-9a-f]{12}$/), dimensions: 64 });
    const result = await answerEmbed({ v: 1, type: 'embed', request_id: 'g1', model: model.id, input: ['Once upon a time', 'a little dog'] }, embedder, silentLogger());
    expect(result).toMatchObject({ ok: true, prompt_tokens: expect.any(Number) });
    const vectors = (result.vectors ?? []).map((v) => base64ToFloat32(v)!);
    expect(vectors.map((v) => v.length)).toEqual([64, 64]);
    for (const v of vectors) expect(dot(v, v)).toBeCloseTo(1, 5);
    // The same text gives the same vector (the sequence is cleared between texts).
    const [again] = await embedder.embed(['Once upon a time']);
    expect(Array.from(again!)).toEqual(Array.from(vectors[0]!).map((x) => expect.closeTo(x, 5)));
  });

  it('answers a text past the context as input_too_long (the caller\'s to fix), not a failure', async () => {
    const embedder = await GgufEmbedder.create({ modelPath: TEST_MODEL, contextSize: 64 });
    disposers.push(embedder);
    const result = await answerEmbed({ v: 1, type: 'embed', request_id: 'g2', model: embedder.name, input: ['short', 'word '.repeat(200)] }, embedder, silentLogger());
    expect(result).toMatchObject({ ok: false, code: 'input_too_long', error: expect.stringContaining('input[1]') });
  });

  it('refuses HEARTH_EMBED_TOKENIZER beside a GGUF, which holds its own', () => {
    expect(() => loadRecallConfig({ HEARTH_EMBED_MODEL: TEST_MODEL, HEARTH_EMBED_TOKENIZER: '/tmp/tokenizer.json' })).toThrow(/GGUF/);
  });
});
