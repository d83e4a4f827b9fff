import { InferenceSession, Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dot } from '../../src/recall/embedder.js';
import { featuriseBatch, featureGroups, words } from '../../src/recall/features.js';
import { murmur3 } from '../../src/recall/hash.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';
import { buildHashingModel, HASHING_DEFAULTS, projectionMatrix } from '../../src/recall/hashing-model.js';

describe('the featuriser', () => {
  it('hashes with MurmurHash3 x86_32 (reference vectors), so buckets never change between runs', () => {
    expect(murmur3('')).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello')).toBe(0x248bfa47);
    expect(murmur3('The quick brown fox jumps over the lazy dog')).toBe(0x2e4ff723);
  });

  it('normalises with NFKC and lower case, and splits on anything but letters, marks and digits', () => {
    expect(words('Ｄｅｎｔｉｓｔ on TUESDAY, 9am—café')).toEqual(['dentist', 'on', 'tuesday', '9am', 'café']);
    expect(words('ﬁle')).toEqual(['file']);
    // Composed and decomposed accents are one word, so they hash alike.
    expect(words('cafe\u0301')).toEqual(words('caf\u00e9'));
  });

  it('makes word, bigram and character 3-5-gram features, without stopwords unless nothing else is left', () => {
    const groups = featureGroups('the Cat sat on the cat');
    expect([...groups.word]).toEqual([
      ['w\u0001cat', 2],
      ['w\u0001sat', 1],
    ]);
    expect([...groups.bigram.keys()]).toEqual(['b\u0001cat sat', 'b\u0001sat cat']);
    expect(groups.char.get('c\u0001<ca')).toBe(2);
    expect(groups.char.get('c\u0001<cat>')).toBe(2);
    expect(groups.char.has('c\u0001<the')).toBe(false);
    expect([...featureGroups('who are you').word.keys()]).toEqual(['w\u0001who', 'w\u0001are', 'w\u0001you']);
  });

  it('gives identical features for identical texts, and none for text without words', () => {
    const [a, b] = [featuriseBatch(['Lentil soup, again'], 1024), featuriseBatch(['Lentil soup, again'], 1024)];
    expect(a).toEqual(b);
    expect(a.some((x) => x !== 0)).toBe(true);
    expect(featuriseBatch(['  ... !! '], 1024).every((x) => x === 0)).toBe(true);
  });
});

describe('the built-in hashing embedder', () => {
  let embedder: HashingEmbedder;
  beforeAll(async () => {
    embedder = await HashingEmbedder.create();
  });
  afterAll(() => embedder.dispose());

  it('runs a generated ONNX graph that is exactly features × projection, normalised', async () => {
    const { buckets, dimensions } = HASHING_DEFAULTS;
    const session = await InferenceSession.create(buildHashingModel(HASHING_DEFAULTS), { intraOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['features']);
      expect(session.outputNames).toEqual(['embedding']);
      const features = featuriseBatch(['a dentist appointment on Tuesday', ''], buckets);
      const out = await session.run({ features: new Tensor('float32', features, [2, buckets]) });
      expect(out.embedding?.dims).toEqual([2, dimensions]);
      const projection = projectionMatrix(HASHING_DEFAULTS);
      const byHand = new Float64Array(dimensions);
      for (let i = 0; i < buckets; i++) {
        const f = features[i]!;
        if (f !== 0) for (let j = 0; j < dimensions; j++) byHand[j]! += f * projection[i * dimensions + j]!;
      }
      const norm = Math.hypot(...byHand);
      const got = out.embedding!.data as Float32Array;
      for (let j = 0; j < dimensions; j++) expect(got[j]).toBeCloseTo(byHand[j]! / norm, 5);
      // An empty text stays the zero vector (ε in the graph), not NaN.
      expect(Array.from(got.subarray(dimensions))).toEqual(new Array(dimensions).fill(0));
    } finally {
      await session.release();
    }
  });

  it('draws a sparse ±√(3/k) projection from a seed: same seed same matrix, another seed another', () => {
    const small = { buckets: 64, dimensions: 16, seed: 1 };
    const m = projectionMatrix(small);
    expect(projectionMatrix(small)).toEqual(m);
    expect(projectionMatrix({ ...small, seed: 2 })).not.toEqual(m);
    const value = Math.fround(Math.sqrt(3 / 16));
    expect(new Set(m)).toEqual(new Set([0, value, -value]));
    const zeros = m.filter((x) => x === 0).length / m.length;
    expect(zeros).toBeGreaterThan(0.55);
    expect(zeros).toBeLessThan(0.78);
  });

  it('is deterministic across instances and names its version and parameters', async () => {
    const other = await HashingEmbedder.create({ threads: 2 });
    try {
      const texts = ['Dentist on Tuesday at 9:30', 'the tomatoes need water', 'Ünïcödé text 東京'];
      expect(await other.embed(texts)).toEqual(await embedder.embed(texts));
      expect(other.name).toBe(embedder.name);
      expect(embedder.name).toBe('hearth-hash-v1/4096x512/s322087');
      expect(embedder.dimensions).toBe(512);
    } finally {
      await other.dispose();
    }
  });

  it('returns unit vectors, one per text, in order, across batches', async () => {
    const texts = Array.from({ length: 70 }, (_, i) => `note number ${i} about topic ${i % 7}`);
    const vectors = await embedder.embed(texts);
    expect(vectors).toHaveLength(70);
    for (const v of vectors) {
      expect(v).toHaveLength(512);
      expect(Math.hypot(...v)).toBeCloseTo(1, 5);
    }
    expect((await embedder.embed([texts[42]!]))[0]).toEqual(vectors[42]);
  });

  it('ranks a text sharing words and word pieces above unrelated ones', async () => {
    const [query, dentist, inflected, garden, car] = await embedder.embed([
      'my dentist appointment on Tuesday',
      'Dentist: appointment with Dr. Lee on Tuesday at 9:30.',
      'Appointments at the dentists are on Tuesdays now.',
      'The tomatoes need deep watering twice a week in summer.',
      'The car insurance renewal is due in March.',
    ]);
    const score = (v: Float32Array | undefined) => dot(query!, v!);
    expect(score(dentist)).toBeGreaterThan(0.4);
    expect(score(inflected)).toBeGreaterThan(embedder.suggestedMinScore);
    for (const unrelated of [garden, car]) expect(Math.abs(score(unrelated))).toBeLessThan(embedder.suggestedMinScore);
  });
});
