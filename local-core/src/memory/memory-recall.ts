import { DEFAULT_KEYWORD_WEIGHT } from '../recall/config.js';
import { dot, type Embedder } from '../recall/embedder.js';
import { contentWords, words } from '../recall/features.js';
import type { MemoryItem } from './memory-items.js';

/** How the context engine is told a line is a kept fact, not a recalled snippet. */
export const MEMORY_PREFIX = 'Remembered about the sender: ';

export interface SelectOptions {
  /** Most tokens the chosen items take in all, prefixes included. */
  budgetTokens: number;
  /** The engine's token count (a word count stands in without one). */
  countTokens?: (text: string) => number;
  /** Scores by meaning when set (the recall embedder's vectors). */
  vectors?: ItemVectors | undefined;
  /** Keyword (BM25) scores by item id, blended with the vectors' cosine; neither: shared words. */
  keywords?: ReadonlyMap<number, number> | undefined;
  /** The keywords' share of the blend (recall's HEARTH_RECALL_KEYWORD_WEIGHT). */
  keywordWeight?: number;
}

const wordCount = (text: string) => words(text).length;

/** Share of the query's content words an item has: the lexical fallback's score, 0 to 1. */
export function lexicalScore(query: string, item: string): number {
  const asked = new Set(contentWords(words(query)));
  if (asked.size === 0) return 0;
  const has = new Set(words(item));
  let shared = 0;
  for (const word of asked) if (has.has(word)) shared++;
  return shared / asked.size;
}

/**
 * Vectors of item texts, per embedder: a scope holds tens of facts, embedded once each (not
 * per turn), so relevance costs one query embedding a turn.
 */
export class ItemVectors {
  private readonly cache = new Map<string, Float32Array>();
  private static readonly MAX = 10_000;

  constructor(readonly embedder: Embedder) {}

  async scores(query: string, items: readonly MemoryItem[]): Promise<number[]> {
    const missing = [...new Set(items.map((item) => item.text).filter((text) => !this.cache.has(text)))];
    const vectors = await this.embedder.embed([query, ...missing]);
    if (this.cache.size + missing.length > ItemVectors.MAX) this.cache.clear();
    for (const [i, text] of missing.entries()) {
      const vector = vectors[i + 1];
      if (vector) this.cache.set(text, vector);
    }
    const asked = vectors[0];
    return items.map((item) => {
      const vector = this.cache.get(item.text);
      return asked && vector ? dot(asked, vector) : 0;
    });
  }
}

/**
 * The items most relevant to `query` that fit the token budget, as context lines: best score
 * first, the newest first among equals (a scope's facts are few, so all of them usually fit:
 * relevance decides what goes when they do not). An item that does not fit is skipped for a
 * smaller one after it.
 */
export async function selectItems(
  items: readonly MemoryItem[],
  query: string,
  { budgetTokens, countTokens = wordCount, vectors, keywords, keywordWeight = DEFAULT_KEYWORD_WEIGHT }: SelectOptions,
): Promise<{ lines: string[]; items: MemoryItem[]; tokens: number }> {
  if (items.length === 0 || budgetTokens <= 0) return { lines: [], items: [], tokens: 0 };
  const cosines = vectors ? await vectors.scores(query, items) : undefined;
  const keyword = (item: MemoryItem) => keywords?.get(item.id) ?? 0;
  const scores = items.map((item, i) => {
    if (cosines && keywords) return keywordWeight * keyword(item) + (1 - keywordWeight) * Math.max(0, cosines[i] ?? 0);
    return cosines ? (cosines[i] ?? 0) : keywords ? keyword(item) : lexicalScore(query, item.text);
  });
  const ranked = items.map((item, i) => ({ item, score: scores[i] ?? 0 })).sort((a, b) => b.score - a.score || b.item.createdAt - a.item.createdAt || b.item.id - a.item.id);
  const chosen: MemoryItem[] = [];
  const lines: string[] = [];
  let tokens = 0;
  for (const { item } of ranked) {
    const line = `${MEMORY_PREFIX}${item.text}`;
    const cost = countTokens(line);
    if (tokens + cost > budgetTokens) continue;
    tokens += cost;
    chosen.push(item);
    lines.push(line);
  }
  return { lines, items: chosen, tokens };
}
