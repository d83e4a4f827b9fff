import { migrate, type Db } from '../memory/database.js';
import { dot } from './embedder.js';
import { ftsIndexStep, ftsQuery, scaledBm25 } from './fts.js';

/** Where a memory came from: a conversation's message, or a note the user added. */
export type RecallSource = 'message' | 'note';

export { GLOBAL_OWNER } from './scope.js';

export interface RecallItem {
  id: number;
  /** A user or conversation id (`telegram:42`), or `GLOBAL_OWNER` (`*`) for notes shared by all. */
  owner: string;
  source: RecallSource;
  /** What it is within its source: a message id, or `file#chunk`. Unique per owner and source. */
  ref: string;
  text: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
}

export interface RecallHit extends RecallItem {
  /** How well it matches: cosine alone from the vector search; the weighted blend from Recall.search. */
  score: number;
  /** Cosine similarity to the query, from −1 to 1 (0 when the vector search did not reach it). */
  vectorScore?: number;
  /** BM25 of the query's words in it, scaled to at most 1 by the query's best match (0 when no word matched). */
  keywordScore?: number;
}

export interface NoteSummary {
  owner: string;
  file: string;
  chunks: number;
  chars: number;
  /** When the file was last added (ms since the epoch). */
  addedAt: number;
}

export type PutResult = 'added' | 'updated' | 'unchanged';

// Append-only (see migrate): never edit a step that has shipped.
const STEPS = [
  `CREATE TABLE recall_items (
     id INTEGER PRIMARY KEY,
     owner TEXT NOT NULL,
     source TEXT NOT NULL CHECK (source IN ('message', 'note')),
     ref TEXT NOT NULL,
     text TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     UNIQUE (owner, source, ref)
   )`,
  // One row per item and embedder: switching models keeps the old vectors until re-embedded.
  `CREATE TABLE recall_vectors (
     item_id INTEGER NOT NULL REFERENCES recall_items (id) ON DELETE CASCADE,
     embedder TEXT NOT NULL,
     dimensions INTEGER NOT NULL,
     vector BLOB NOT NULL,
     PRIMARY KEY (item_id, embedder)
   )`,
  // Full-text index of the items (BM25): names, numbers and rare words a vector blurs.
  ftsIndexStep('recall_items', 'recall_fts'),
];

/** Float32 little-endian bytes, as stored (every platform Node supports in practice is little-endian). */
const toBlob = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
// SQLite hands back Buffers at any offset; a Float32Array view needs 4-byte alignment.
const fromBlob = (b: Buffer) =>
  b.byteOffset % 4 === 0 ? new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) : new Float32Array(new Uint8Array(b).buffer);

interface ItemRow {
  id: number;
  owner: string;
  source: RecallSource;
  ref: string;
  text: string;
  created_at: number;
}
const toItem = (r: ItemRow): RecallItem => ({ id: r.id, owner: r.owner, source: r.source, ref: r.ref, text: r.text, createdAt: r.created_at });

/**
 * Recall items, their vectors and a full-text index of them in the core's SQLite database
 * (component `recall`).
 *
 * Search is brute force: a dot product per stored vector of the owner and of the global notes.
 * Measured at 512 dimensions, a scan costs about 10 ms per thousand vectors, mostly SQLite
 * reading the 2 KiB blobs (the dot products are ~1.5 ms of it). A personal store of a few
 * thousand items answers in tens of milliseconds, next to seconds of generation; past ~20k
 * vectors for one owner (~0.2 s a query), an index (sqlite-vec's vec0 table, or vectors held in
 * memory with an ANN index) becomes worth its dependency.
 */
export class VectorStore {
  constructor(private readonly db: Db) {
    migrate(db, 'recall', STEPS);
  }

  /** The item stored under this owner, source and ref, if any. */
  find(owner: string, source: RecallSource, ref: string): RecallItem | undefined {
    const row = this.db.prepare<[string, string, string], ItemRow>('SELECT * FROM recall_items WHERE owner = ? AND source = ? AND ref = ?').get(owner, source, ref);
    return row && toItem(row);
  }

  /** Whether `itemId` has a vector from `embedder`. */
  hasVector(itemId: number, embedder: string): boolean {
    return this.db.prepare('SELECT 1 FROM recall_vectors WHERE item_id = ? AND embedder = ?').get(itemId, embedder) !== undefined;
  }

  /**
   * Stores an item with its vector, once per (owner, source, ref): the same text again changes
   * nothing; a new text replaces the old one and drops every vector made of the old text.
   */
  put(item: Omit<RecallItem, 'id'>, embedder: string, vector: Float32Array): { id: number; result: PutResult } {
    return this.db.transaction(() => {
      const existing = this.find(item.owner, item.source, item.ref);
      let id: number;
      let result: PutResult;
      if (existing === undefined) {
        const info = this.db
          .prepare('INSERT INTO recall_items (owner, source, ref, text, created_at) VALUES (?, ?, ?, ?, ?)')
          .run(item.owner, item.source, item.ref, item.text, item.createdAt);
        id = Number(info.lastInsertRowid);
        result = 'added';
      } else if (existing.text !== item.text) {
        id = existing.id;
        this.db.prepare('UPDATE recall_items SET text = ?, created_at = ? WHERE id = ?').run(item.text, item.createdAt, id);
        this.db.prepare('DELETE FROM recall_vectors WHERE item_id = ?').run(id);
        result = 'updated';
      } else {
        id = existing.id;
        result = this.hasVector(id, embedder) ? 'unchanged' : 'updated';
      }
      this.setVector(id, embedder, vector);
      return { id, result };
    })();
  }

  /** Adds or replaces the vector `embedder` made of item `itemId`. */
  setVector(itemId: number, embedder: string, vector: Float32Array): void {
    this.db
      .prepare('INSERT OR REPLACE INTO recall_vectors (item_id, embedder, dimensions, vector) VALUES (?, ?, ?, ?)')
      .run(itemId, embedder, vector.length, toBlob(vector));
  }

  /**
   * The `k` items of `owners` closest to `query` among the vectors `embedder` made, best first,
   * scoring at least `minScore`. Vectors of other embedders live in another space: skipped.
   */
  search(owners: readonly string[], embedder: string, query: Float32Array, k: number, minScore: number): RecallHit[] {
    if (k <= 0 || owners.length === 0) return [];
    const marks = owners.map(() => '?').join(', ');
    const rows = this.db
      .prepare<unknown[], { id: number; vector: Buffer }>(
        `SELECT v.item_id AS id, v.vector FROM recall_items i JOIN recall_vectors v ON v.item_id = i.id
         WHERE i.owner IN (${marks}) AND v.embedder = ? AND v.dimensions = ?`,
      )
      .iterate(...owners, embedder, query.length);
    // A short sorted list beats a heap for the handful of hits a prompt can hold.
    const best: { id: number; score: number }[] = [];
    for (const row of rows) {
      const score = dot(query, fromBlob(row.vector));
      if (score < minScore || (best.length === k && score <= (best.at(-1)?.score ?? -Infinity))) continue;
      const at = best.findIndex((b) => score > b.score);
      best.splice(at === -1 ? best.length : at, 0, { id: row.id, score });
      if (best.length > k) best.pop();
    }
    const get = this.db.prepare<[number], ItemRow>('SELECT * FROM recall_items WHERE id = ?');
    return best.flatMap(({ id, score }) => {
      const row = get.get(id);
      return row ? [{ ...toItem(row), score, vectorScore: score }] : [];
    });
  }

  /** The `k` items of `owners` whose text best matches the words of `query` by BM25, best first, with their keyword scores (see scaledBm25). */
  keywordSearch(owners: readonly string[], query: string, k: number): RecallHit[] {
    const match = ftsQuery(query);
    if (k <= 0 || owners.length === 0 || match === '') return [];
    const marks = owners.map(() => '?').join(', ');
    const rows = this.db
      .prepare<unknown[], ItemRow & { rank: number }>(
        `SELECT i.*, bm25(recall_fts) AS rank FROM recall_fts JOIN recall_items i ON i.id = recall_fts.rowid
         WHERE recall_fts MATCH ? AND i.owner IN (${marks}) ORDER BY rank LIMIT ?`,
      )
      .all(match, ...owners, k);
    const scores = scaledBm25(rows.map((row) => row.rank));
    return rows.map((row, i) => ({ ...toItem(row), score: scores[i] ?? 0, keywordScore: scores[i] ?? 0 }));
  }

  /** Items with no vector from `embedder` (after a model change), oldest first. */
  missingVectors(embedder: string, limit: number): RecallItem[] {
    return this.db
      .prepare<[string, number], ItemRow>(
        'SELECT * FROM recall_items i WHERE NOT EXISTS (SELECT 1 FROM recall_vectors v WHERE v.item_id = i.id AND v.embedder = ?) ORDER BY id LIMIT ?',
      )
      .all(embedder, limit)
      .map(toItem);
  }

  /** Note files added, per owner and file (refs are `file#chunk`). */
  noteFiles(): NoteSummary[] {
    const rows = this.db
      .prepare<[], { owner: string; ref: string; chars: number; created_at: number }>(
        "SELECT owner, ref, length(text) AS chars, created_at FROM recall_items WHERE source = 'note' ORDER BY owner, ref",
      )
      .all();
    const byFile = new Map<string, NoteSummary>();
    for (const row of rows) {
      const file = row.ref.slice(0, row.ref.lastIndexOf('#'));
      const key = `${row.owner}\u0000${file}`;
      const summary = byFile.get(key) ?? { owner: row.owner, file, chunks: 0, chars: 0, addedAt: 0 };
      summary.chunks++;
      summary.chars += row.chars;
      summary.addedAt = Math.max(summary.addedAt, row.created_at);
      byFile.set(key, summary);
    }
    return [...byFile.values()];
  }

  /** Deletes the items of `owner` and `source` whose ref starts with `prefix` and is not in `keep`. */
  prune(owner: string, source: RecallSource, prefix: string, keep: ReadonlySet<string>): number {
    const rows = this.db
      .prepare<[string, string, number, string], { id: number; ref: string }>('SELECT id, ref FROM recall_items WHERE owner = ? AND source = ? AND substr(ref, 1, ?) = ?')
      // substr counts characters (code points), not UTF-16 units.
      .all(owner, source, [...prefix].length, prefix);
    const remove = this.db.prepare('DELETE FROM recall_items WHERE id = ?');
    let removed = 0;
    this.db.transaction(() => {
      for (const row of rows) if (!keep.has(row.ref)) removed += remove.run(row.id).changes;
    })();
    return removed;
  }
}
