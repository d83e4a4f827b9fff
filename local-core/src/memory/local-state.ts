import { type Db, migrate } from './database.js';
import { parseStored, type Session, SessionSchema, type StateStore, type Update } from './state.js';

const MIGRATIONS = [
  `CREATE TABLE sessions (
     conversation_id TEXT PRIMARY KEY,
     value TEXT NOT NULL,
     expires_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX sessions_by_expiry ON sessions (expires_at);
   CREATE TABLE profiles (
     user_id TEXT PRIMARY KEY,
     value TEXT NOT NULL
   ) STRICT;`,
  // Profiles were never filled (issue 20): sender names come with each message.
  'DROP TABLE profiles;',
];

/**
 * Sessions on SQLite (L3), for a core without Redis: the same contract as the
 * Redis store, idle expiry included, so the core behaves alike with or without it.
 *
 * @example
 * const state = new SqliteStateStore(db, { sessionTtlSeconds: 30 * 86_400 });
 */
export class SqliteStateStore implements StateStore {
  readonly tier = 'l3';
  private readonly ttlMs: number;
  private readonly statements;

  constructor(
    private readonly db: Db,
    options: { sessionTtlSeconds: number },
  ) {
    migrate(db, 'state', MIGRATIONS);
    this.ttlMs = options.sessionTtlSeconds * 1000;
    this.statements = {
      // Reading restarts the idle timer, as GETEX does on Redis.
      touchSession: db.prepare<[number, string, number], { value: string }>(
        'UPDATE sessions SET expires_at = ? WHERE conversation_id = ? AND expires_at > ? RETURNING value',
      ),
      liveSession: db.prepare<[string, number], { value: string }>('SELECT value FROM sessions WHERE conversation_id = ? AND expires_at > ?'),
      putSession: db.prepare<[string, string, number]>(
        `INSERT INTO sessions (conversation_id, value, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (conversation_id) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
      ),
      pruneSessions: db.prepare<[number]>('DELETE FROM sessions WHERE expires_at <= ?'),
    };
  }

  async session(conversationId: string): Promise<Session | undefined> {
    const now = Date.now();
    const row = this.statements.touchSession.get(now + this.ttlMs, conversationId, now);
    return row && parseStored(SessionSchema, row.value, `the session of ${conversationId} in the sessions table`);
  }

  async updateSession(conversationId: string, update: Update<Session>): Promise<Session> {
    return this.db.transaction(() => {
      const now = Date.now();
      const row = this.statements.liveSession.get(conversationId, now);
      const current = row && parseStored(SessionSchema, row.value, `the session of ${conversationId} in the sessions table`);
      // Validated on the way in too: a value stored today must be readable tomorrow.
      const next = SessionSchema.parse(update(current));
      this.statements.putSession.run(conversationId, JSON.stringify(next), now + this.ttlMs);
      return next;
    })();
  }

  /** Deletes sessions idle past their TTL; returns how many. */
  prune(now = Date.now()): number {
    return this.statements.pruneSessions.run(now).changes;
  }
}
