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

/**
 * The migration step that gives `table` (its `text` column, `id` rowid) a full-text index named
 * `index`: external content (the text stays in `table` once), kept in step by triggers, and
 * built for the rows already there. Its output is a shipped migration: never change it.
 */
export function ftsIndexStep(table: string, index: string): string {
  return `CREATE VIRTUAL TABLE ${index} USING fts5(text, content = '${table}', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2');
   CREATE TRIGGER ${index}_insert AFTER INSERT ON ${table} BEGIN
     INSERT INTO ${index} (rowid, text) VALUES (new.id, new.text);
   END;
   CREATE TRIGGER ${index}_delete AFTER DELETE ON ${table} BEGIN
     INSERT INTO ${index} (${index}, rowid, text) VALUES ('delete', old.id, old.text);
   END;
   CREATE TRIGGER ${index}_update AFTER UPDATE OF text ON ${table} BEGIN
     INSERT INTO ${index} (${index}, rowid, text) VALUES ('delete', old.id, old.text);
     INSERT INTO ${index} (rowid, text) VALUES (new.id, new.text);
   END;
   INSERT INTO ${index} (${index}) VALUES ('rebuild');`;
}
