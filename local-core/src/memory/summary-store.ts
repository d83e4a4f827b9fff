import { type Db, migrate } from './database.js';

const MIGRATIONS = [
  `CREATE TABLE conversation_summaries (
     conversation_id TEXT PRIMARY KEY,
     generation INTEGER NOT NULL,
     text TEXT NOT NULL,
     through TEXT NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;`,
];

/** A conversation's running summary: what the model wrote of its turns up to `through` (a message id). */
export interface StoredSummary {
  generation: number;
  text: string;
  /** The id of the last turn folded into the summary; later turns are given to the model as they are. */
  through: string;
  updatedAt: number;
}

/**
 * L3: each conversation's running summary on disk. The session (L2 with Redis) carries it too,
 * but sessions expire and Redis may be flushed; the disk copy lets a restart rebuild the same
 * context. A summary of an older generation than asked for is stale (a `/reset` came since).
 *
 * @example
 * const summaries = new SummaryStore(db);
 * summaries.put('telegram:42', { generation: 0, text: '…', through: 'telegram:42:17', updatedAt: Date.now() });
 */
export class SummaryStore {
  private readonly statements;

  constructor(db: Db) {
    migrate(db, 'summaries', MIGRATIONS);
    this.statements = {
      get: db.prepare<[string, number], { text: string; through: string; updated_at: number }>(
        'SELECT text, through, updated_at FROM conversation_summaries WHERE conversation_id = ? AND generation = ?',
      ),
      put: db.prepare<[string, number, string, string, number]>(
        `INSERT INTO conversation_summaries (conversation_id, generation, text, through, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET generation = excluded.generation, text = excluded.text, through = excluded.through, updated_at = excluded.updated_at
         WHERE excluded.generation >= conversation_summaries.generation`,
      ),
      delete: db.prepare<[string]>('DELETE FROM conversation_summaries WHERE conversation_id = ?'),
    };
  }

  get(conversationId: string, generation: number): StoredSummary | undefined {
    const row = this.statements.get.get(conversationId, generation);
    return row && { generation, text: row.text, through: row.through, updatedAt: row.updated_at };
  }

  /** Stores it unless a summary of a newer generation is there already. */
  put(conversationId: string, summary: StoredSummary): void {
    this.statements.put.run(conversationId, summary.generation, summary.text, summary.through, summary.updatedAt);
  }

  delete(conversationId: string): void {
    this.statements.delete.run(conversationId);
  }
}
