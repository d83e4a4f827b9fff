import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { dot } from '../../src/recall/embedder.js';
import { ModelEmbedder } from '../../src/recall/model-embedder.js';
import { ElemType, encodeModel, node, tensorValue } from '../../src/recall/onnx-graph.js';
import { loadTokenizer } from '../../src/recall/tokenizer.js';
import { tempDir } from '../support.js';
import { HIDDEN, type TinyBertTables, VOCAB, writeTinyBert } from './tiny-bert.js';

let dir: string;
let cleanup: () => Promise<void>;
const disposers: (() => Promise<void>)[] = [];
beforeEach(async () => ({ dir, cleanup } = await tempDir()));
afterEach(async () => {
  for (const dispose of disposers.splice(0)) await dispose();
  await cleanup();
});

async function load(options: Parameters<typeof writeTinyBert>[1] & { maxLength?: number } = {}) {
  const files = await writeTinyBert(dir, options);
  const embedder = await ModelEmbedder.create({ modelPath: files.modelPath, tokenizerPath: files.tokenizerPath, maxLength: options.maxLength });
  disposers.push(() => embedder.dispose());
  return { embedder, ...files };
}

/** What the tiny model and mean pooling must give for these tokens, computed by hand. */
function expected(t: TinyBertTables, tokens: string[], maskedAdd = true): Float32Array {
  const sum = new Float32Array(HIDDEN);
  for (const token of tokens) {
    const id = VOCAB.indexOf(token);
    expect(id, token).toBeGreaterThanOrEqual(0);
    for (let h = 0; h < HIDDEN; h++) {
      sum[h]! += t.word[id * HIDDEN + h]! + (maskedAdd ? t.type[h]! + t.kept[h]! : 0);
    }
  }
  const norm = Math.hypot(...sum);
  return sum.map((x) => x / norm);
}

describe('the sentence-embedding model path (tiny BERT-shaped model built in the test)', () => {
  it('tokenises with WordPiece, runs the model and mean-pools last_hidden_state under the mask', async () => {
    const { embedder, tables } = await load();
    expect(embedder.dimensions).toBe(HIDDEN);
    expect(embedder.name).toMatch(/^onnx\/model\.onnx@[0-9a-f]{12}\/last_hidden_state\/t512$/);
    const [v] = await embedder.embed(['Hello WORLD cats']);
    // "cats" is split by WordPiece into cat + ##s; [CLS] and [SEP] are added.
    const want = expected(tables, ['[CLS]', 'hello', 'world', 'cat', '##s', '[SEP]']);
    expect(Array.from(v!)).toEqual(Array.from(want).map((x) => expect.closeTo(x, 5)));
    expect(Math.hypot(...v!)).toBeCloseTo(1, 5);
  });

  it('gives a text the same vector alone or padded beside a longer one', async () => {
    const { embedder } = await load();
    const [alone] = await embedder.embed(['the cat sat']);
    const [, padded] = await embedder.embed(['my dentist on tuesday and the garden tomato water', 'the cat sat']);
    for (let h = 0; h < HIDDEN; h++) expect(padded![h]).toBeCloseTo(alone![h]!, 5);
  });

  it('puts texts sharing words closer than texts sharing none', async () => {
    const { embedder } = await load();
    const [a, b, c] = await embedder.embed(['the cat sat on the mat', 'the cat ran on the mat', 'my dentist tuesday garden tomato water']);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!) + 0.2);
    expect(dot(a!, b!)).toBeGreaterThan(dot(b!, c!) + 0.2);
  });

  it('truncates to the maximum length and keeps [SEP] last', async () => {
    const { embedder, tables } = await load({ maxLength: 5 });
    expect(embedder.name).toMatch(/\/t5$/);
    const [cut] = await embedder.embed(['a b c d e f g h']);
    const want = expected(tables, ['[CLS]', 'a', 'b', 'c', '[SEP]']);
    expect(Array.from(cut!)).toEqual(Array.from(want).map((x) => expect.closeTo(x, 5)));
  });

  it("takes the maximum length from tokenizer_config.json's model_max_length", async () => {
    const { tokenizerPath } = await writeTinyBert(dir, { modelMaxLength: 4 });
    const tokenizer = await loadTokenizer(tokenizerPath);
    expect(tokenizer.maxLength).toBe(4);
    expect(tokenizer.padId).toBe(VOCAB.indexOf('[PAD]'));
    expect(tokenizer.encode('a b c d e')).toEqual(['[CLS]', 'a', 'b', '[SEP]'].map((t) => VOCAB.indexOf(t)));
  });

  it('feeds only the inputs a model declares and prefers its sentence_embedding output', async () => {
    const { embedder, tables } = await load({ sentenceOutput: true });
    expect(embedder.name).toContain('/sentence_embedding/');
    const [v] = await embedder.embed(['hello world']);
    const want = expected(tables, ['[CLS]', 'hello', 'world', '[SEP]'], false);
    expect(Array.from(v!)).toEqual(Array.from(want).map((x) => expect.closeTo(x, 5)));
  });

  it('names the variable to fix when a file is missing or is not a model', async () => {
    const { modelPath, tokenizerPath } = await writeTinyBert(dir);
    const missing = join(dir, 'nope.onnx');
    await expect(ModelEmbedder.create({ modelPath: missing, tokenizerPath })).rejects.toThrow(ConfigError);
    await expect(ModelEmbedder.create({ modelPath: missing, tokenizerPath })).rejects.toThrow(/HEARTH_EMBED_MODEL.*nope\.onnx/);
    await expect(ModelEmbedder.create({ modelPath, tokenizerPath: join(dir, 'nope.json') })).rejects.toThrow(/HEARTH_EMBED_TOKENIZER.*nope\.json/);
    const notModel = join(dir, 'not-a-model.onnx');
    await writeFile(notModel, 'this is text, not protobuf');
    await expect(ModelEmbedder.create({ modelPath: notModel, tokenizerPath })).rejects.toThrow(/HEARTH_EMBED_MODEL: onnxruntime cannot load/);
    const imageModel = join(dir, 'image.onnx');
    await writeFile(
      imageModel,
      encodeModel({
        name: 'image_and_text',
        inputs: [tensorValue('input_ids', ElemType.INT64, ['batch', 'sequence']), tensorValue('pixel_values', ElemType.FLOAT, ['batch', 3])],
        outputs: [tensorValue('pixels', ElemType.FLOAT, ['batch', 3])],
        initializers: [],
        nodes: [node('Identity', ['pixel_values'], ['pixels'])],
      }),
    );
    await expect(ModelEmbedder.create({ modelPath: imageModel, tokenizerPath })).rejects.toThrow(
      /HEARTH_EMBED_MODEL: .*image\.onnx takes inputs \[input_ids, pixel_values\]/,
    );
    const notTokenizer = join(dir, 'bad-tokenizer.json');
    await writeFile(notTokenizer, '{"version": "1.0"}');
    await expect(ModelEmbedder.create({ modelPath, tokenizerPath: notTokenizer })).rejects.toThrow(/HEARTH_EMBED_TOKENIZER.*not a tokenizer\.json/);
  });
});
