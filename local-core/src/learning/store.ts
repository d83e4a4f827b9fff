import { createHash, randomBytes } from 'node:crypto';
import { type Db, migrate } from '../memory/database.js';
import { HistoryStore } from '../memory/history-store.js';

/** What is known of one reply the model wrote: which variant wrote it, and how fast. */
export interface ReplyRecord {
  /** The reply's idempotency key (`reply:<message id>`): what feedback rates. */
  replyKey: string;
  /** What a button carries instead of the key (Telegram's callback_data is at most 64 bytes). */
  shortId: string;
  /** The message it answers. */
  messageId: string;
  conversationId: string;
  /** Who asked: the sender's `platform:id` (home data; exports pseudonymize it). */
  senderId: string;
  platform: string;
  variant: string;
  model: string;
  /** `chat` (a conversation turn) or `completion` (an OpenAI-style request, not kept in history). */
  kind: 'chat' | 'completion';
  createdAt: number;
  /** Delivery to ack, ms; null until acked. */
  latencyMs: number | null;
  generationMs: number;
  tokens: number;
}

/** A variant made the default for everyone (`hearth experiments promote`), and how often that changed. */
export interface Promotion {
  variant: string | null;
  version: number;
  updatedAt: number;
}

/**
 * The learning component's tables, in the core's SQLite file beside the history (append-only
 * steps). `replies` says which variant wrote each model reply; `promotion` is one row the CLI
 * writes while the core runs (the core polls its version); `secrets` holds the key of the
 * pseudonyms exports use.
 */
const MIGRATIONS = [
  `CREATE TABLE replies (
     reply_key TEXT PRIMARY KEY,
     short_id TEXT NOT NULL UNIQUE,
     message_id TEXT NOT NULL,
     conversation_id TEXT NOT NULL,
     sender_id TEXT NOT NULL,
     platform TEXT NOT NULL,
     variant TEXT NOT NULL,
     model TEXT NOT NULL,
     kind TEXT NOT NULL CHECK (kind IN ('chat', 'completion')),
     created_at INTEGER NOT NULL,
     latency_ms INTEGER,
     generation_ms INTEGER NOT NULL,
     tokens INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX replies_by_time ON replies (created_at);
   CREATE TABLE promotion (
     id INTEGER PRIMARY KEY CHECK (id = 1),
     variant TEXT,
     version INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;`,
];

interface ReplyRow {
  reply_key: string;
  short_id: string;
  message_id: string;
  conversation_id: string;
  sender_id: string;
  platform: string;
  variant: string;
  model: string;
  kind: 'chat' | 'completion';
  created_at: number;
  latency_ms: number | null;
  generation_ms: number;
  tokens: number;
}

const toRecord = (row: ReplyRow): ReplyRecord => ({
  replyKey: row.reply_key,
  shortId: row.short_id,
  messageId: row.message_id,
  conversationId: row.conversation_id,
  senderId: row.sender_id,
  platform: row.platform,
  variant: row.variant,
  model: row.model,
  kind: row.kind,
  createdAt: row.created_at,
  latencyMs: row.latency_ms,
  generationMs: row.generation_ms,
  tokens: row.tokens,
});

/**
 * A reply's short id: 16 base64url characters (96 bits) of SHA-256 of its key. Derived, not
 * random, so a reply regenerated after a crash gets the buttons it would have had.
 */
function shortIdOf(replyKey: string): string {
  return createHash('sha256').update(replyKey).digest('base64url').slice(0, 16);
}

/** A reply and the ratings users gave it (feedback joined in), for reports and exports. */
export interface RatedReply extends ReplyRecord {
  ups: number;
  downs: number;
  /** When the latest rating was given, ms; null when unrated. */
  ratedAt: number | null;
}

/**
 * Replies, promotion and pseudonym key on disk. Synchronous (better-sqlite3). Opens the
 * history tables on the same connection too, so feedback can be recorded and read here
 * whether the core or a CLI command opened the file.
 *
 * @example
 * const store = new LearningStore(openDatabase('.hearth/core.db'));
 * store.recordReply(record);
 * store.byRef(shortIdOf(record.replyKey));
 */
export class LearningStore {
  readonly history: HistoryStore;
  private readonly statements;

  constructor(private readonly db: Db) {
    this.history = new HistoryStore(db);
    migrate(db, 'learning', MIGRATIONS);
    this.statements = {
      upsert: db.prepare<ReplyRow>(
        `INSERT INTO replies (reply_key, short_id, message_id, conversation_id, sender_id, platform, variant, model, kind, created_at, latency_ms, generation_ms, tokens)
         VALUES (@reply_key, @short_id, @message_id, @conversation_id, @sender_id, @platform, @variant, @model, @kind, @created_at, @latency_ms, @generation_ms, @tokens)
         ON CONFLICT (reply_key) DO UPDATE SET variant = excluded.variant, model = excluded.model, created_at = excluded.created_at,
           generation_ms = excluded.generation_ms, tokens = excluded.tokens`,
      ),
      byKey: db.prepare<[string], ReplyRow>('SELECT * FROM replies WHERE reply_key = ?'),
      byShortId: db.prepare<[string], ReplyRow>('SELECT * FROM replies WHERE short_id = ?'),
      setLatency: db.prepare<[number, string]>('UPDATE replies SET latency_ms = ? WHERE reply_key = ? AND latency_ms IS NULL'),
      rated: db.prepare<[number, number], ReplyRow & { ups: number; downs: number; rated_at: number | null }>(
        `SELECT r.*,
           coalesce(sum(f.rating = 'up'), 0) AS ups, coalesce(sum(f.rating = 'down'), 0) AS downs, max(f.created_at) AS rated_at
         FROM replies r LEFT JOIN feedback f ON f.message_id = r.reply_key
         WHERE r.created_at >= ? AND r.created_at < ? GROUP BY r.reply_key ORDER BY r.created_at, r.reply_key`,
      ),
      feedback: db.prepare<[number], { message_id: string; user_id: string; rating: 'up' | 'down'; created_at: number; variant: string | null; conversation_id: string | null }>(
        `SELECT f.message_id, f.user_id, f.rating, f.created_at, r.variant, r.conversation_id
         FROM feedback f LEFT JOIN replies r ON r.reply_key = f.message_id WHERE f.created_at >= ? ORDER BY f.created_at, f.message_id`,
      ),
      promotion: db.prepare<[], { variant: string | null; version: number; updated_at: number }>('SELECT variant, version, updated_at FROM promotion WHERE id = 1'),
      promote: db.prepare<[string | null, number]>(
        `INSERT INTO promotion (id, variant, version, updated_at) VALUES (1, ?, 1, ?)
         ON CONFLICT (id) DO UPDATE SET variant = excluded.variant, version = version + 1, updated_at = excluded.updated_at`,
      ),
      secret: db.prepare<[string], { value: Buffer }>('SELECT value FROM secrets WHERE name = ?'),
      addSecret: db.prepare<[string, Buffer]>('INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING'),
    };
  }

  /** Records (or, for a regenerated reply, updates) which variant wrote a reply. */
  recordReply(record: Omit<ReplyRecord, 'shortId' | 'latencyMs'>): ReplyRecord {
    const full: ReplyRecord = { ...record, shortId: shortIdOf(record.replyKey), latencyMs: null };
    this.statements.upsert.run({
      reply_key: full.replyKey,
      short_id: full.shortId,
      message_id: full.messageId,
      conversation_id: full.conversationId,
      sender_id: full.senderId,
      platform: full.platform,
      variant: full.variant,
      model: full.model,
      kind: full.kind,
      created_at: full.createdAt,
      latency_ms: null,
      generation_ms: Math.round(full.generationMs),
      tokens: full.tokens,
    });
    return full;
  }

  reply(replyKey: string): ReplyRecord | undefined {
    const row = this.statements.byKey.get(replyKey);
    return row && toRecord(row);
  }

  /** The reply a button or an API client refers to: its key (`reply:...`) or its short id. */
  byRef(ref: string): ReplyRecord | undefined {
    const row = ref.startsWith('reply:') ? this.statements.byKey.get(ref) : this.statements.byShortId.get(ref);
    return row && toRecord(row);
  }

  /** Sets the delivery-to-ack latency the first time the reply is acked (a redelivery keeps it). */
  setLatency(replyKey: string, ms: number): void {
    this.statements.setLatency.run(Math.round(ms), replyKey);
  }

  /** Replies created in [since, until), with their ratings, oldest first. */
  ratedReplies(since = 0, until = Number.MAX_SAFE_INTEGER): RatedReply[] {
    return this.statements.rated.all(since, until).map((row) => ({ ...toRecord(row), ups: row.ups, downs: row.downs, ratedAt: row.rated_at }));
  }

  /** Ratings given since `since`, oldest first, with the variant of the reply rated (null when unknown). */
  feedback(since = 0): { replyKey: string; userId: string; rating: 'up' | 'down'; createdAt: number; variant: string | null; conversationId: string | null }[] {
    return this.statements.feedback.all(since).map((row) => ({
      replyKey: row.message_id,
      userId: row.user_id,
      rating: row.rating,
      createdAt: row.created_at,
      variant: row.variant,
      conversationId: row.conversation_id,
    }));
  }

  promotion(): Promotion {
    const row = this.statements.promotion.get();
    return row ? { variant: row.variant, version: row.version, updatedAt: row.updated_at } : { variant: null, version: 0, updatedAt: 0 };
  }

  /** Makes `variant` the default for everyone (null: back to the experiment's split). */
  promote(variant: string | null, now = Date.now()): Promotion {
    this.statements.promote.run(variant, now);
    return this.promotion();
  }

  /** A random key kept here forever (created on first use): what `name`'s keyed hashes use. */
  secret(name: string): Buffer {
    this.statements.addSecret.run(name, randomBytes(32));
    const row = this.statements.secret.get(name);
    if (!row) throw new Error(`secret ${name} could not be stored`);
    return row.value;
  }

  /** The connection (read-only queries of the history for exports). */
  get database(): Db {
    return this.db;
  }
}
