import { murmur3 } from './hash.js';

/**
 * Hashed text features: the JavaScript half of the built-in embedder (the ONNX graph in
 * `hashing-model.ts` is the other). Text → NFKC, lower case → words → three groups of
 * features (words, word bigrams, character 3–5-grams of words), each hashed with a sign into a
 * fixed number of buckets ("the hashing trick"), with sublinear term frequency.
 */

/** Where a text is cut before featurising: recall items are chunks and messages, not books. */
const MAX_FEATURE_CHARS = 16_000;

// Each group is normalised on its own, then weighted: words carry the meaning, character grams
// catch inflections and typos ("appointments" ~ "appointment"), bigrams a little word order.
const GROUP_WEIGHTS = { word: 1, bigram: 0.5, char: 0.8 } as const;

// Function words, and the verbs questions are made of ("what do I need", "tell me about"),
// would make every English text look alike: without document frequencies to down-weight them,
// they are dropped, unless a text has nothing else ("who are you" still has features).
// Contraction pieces (don't → don, t) are included because words split on apostrophes.
const STOPWORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by ' +
    'can could d did do does doing don down during each else ever few for from further get gets got had has have having he her here ' +
    'hers herself him himself his how i if in into is it its itself just know let ll m me might more most much must my myself need ' +
    'needs no nor not now o of off often on once only or other our ours ourselves out over own please re s same shall she should so ' +
    'some such t tell than that the their theirs them themselves then there these they this those through to too under until up us ' +
    've very want wants was we were what when where which while who whom why will with would you your yours yourself yourselves'
  ).split(' '),
);

const WORD = /[\p{L}\p{M}\p{N}]+/gu;

/** The words of a text: NFKC-normalised, lower-cased runs of letters, marks and digits. */
export function words(text: string): string[] {
  return text.slice(0, MAX_FEATURE_CHARS).normalize('NFKC').toLowerCase().match(WORD) ?? [];
}

/** The words that carry meaning: stopwords removed, unless nothing would be left. */
export function contentWords(all: readonly string[]): string[] {
  const kept = all.filter((w) => !STOPWORDS.has(w));
  return kept.length > 0 ? kept : [...all];
}

function count(into: Map<string, number>, feature: string): void {
  into.set(feature, (into.get(feature) ?? 0) + 1);
}

/** The three feature groups of a text, each a map from feature to raw count. */
export function featureGroups(text: string): Record<keyof typeof GROUP_WEIGHTS, Map<string, number>> {
  const kept = contentWords(words(text));
  const groups = { word: new Map<string, number>(), bigram: new Map<string, number>(), char: new Map<string, number>() };
  for (const [i, w] of kept.entries()) {
    // Namespaced so that the word "the" and the trigram "the" land in different buckets.
    count(groups.word, `w\u0001${w}`);
    const next = kept[i + 1];
    if (next !== undefined) count(groups.bigram, `b\u0001${w} ${next}`);
    const chars = Array.from(`<${w}>`);
    for (let n = 3; n <= 5; n++) {
      for (let start = 0; start + n <= chars.length; start++) count(groups.char, `c\u0001${chars.slice(start, start + n).join('')}`);
    }
  }
  return groups;
}

/**
 * Writes the hashed feature vector of `text` into `out` (length `buckets`, a power of two,
 * zero-filled by the caller). Signed hashing makes collisions cancel on average instead of
 * piling up; `1 + ln(tf)` keeps a repeated word from drowning the rest.
 */
function featurise(text: string, out: Float32Array): void {
  const mask = out.length - 1;
  if ((out.length & mask) !== 0) throw new Error(`feature buckets must be a power of two, got ${out.length}`);
  const groups = featureGroups(text);
  for (const [group, features] of Object.entries(groups) as [keyof typeof GROUP_WEIGHTS, Map<string, number>][]) {
    let sumSquares = 0;
    for (const tf of features.values()) sumSquares += (1 + Math.log(tf)) ** 2;
    if (sumSquares === 0) continue;
    const scale = GROUP_WEIGHTS[group] / Math.sqrt(sumSquares);
    for (const [feature, tf] of features) {
      const h = murmur3(feature);
      // Low bits choose the bucket, the top bit the sign: independent for any power-of-two size.
      const sign = h >>> 31 === 1 ? -1 : 1;
      out[h & mask] = (out[h & mask] ?? 0) + sign * scale * (1 + Math.log(tf));
    }
  }
}

/** Features of several texts as one row-major [texts.length, buckets] matrix. */
export function featuriseBatch(texts: readonly string[], buckets: number): Float32Array {
  const matrix = new Float32Array(texts.length * buckets);
  for (const [i, text] of texts.entries()) featurise(text, matrix.subarray(i * buckets, (i + 1) * buckets));
  return matrix;
}
