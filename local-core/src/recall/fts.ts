import { contentWords, words } from './features.js';

/** An FTS5 query of the text's content words, any of them (each quoted: no operator or column syntax gets through). */
export function ftsQuery(text: string): string {
  return [...new Set(contentWords(words(text)))].map((word) => `"${word.replaceAll('"', '""')}"`).join(' OR ');
}

/**
 * Keyword scores from SQLite's bm25() ranks (negative, best first): BM25 divided by the best
 * one's when that is over 1, so 0 to 1 (BM25 has no fixed top); weak matches stay weak.
 */
export function scaledBm25(ranks: readonly number[]): number[] {
  const top = Math.max(1, -(ranks[0] ?? 0));
  return ranks.map((rank) => Math.max(0, -rank) / top);
}
