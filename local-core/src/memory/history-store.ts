import { GenerationStopSchema, type GenerationStop } from '@hearth/shared';
import { ApiHistory } from './api-history.js';
import { type Db, migrate } from './database.js';

/** One message of a conversation, as the model will see it again. */
export interface Turn {
  /** The platform's message id for a user turn; the reply key for an assistant turn. */
  messageId: string;
  conversationId: string;
  role: 'user' | 'assistant';
  /** Who said it: the sender's `platform:id`, or the core's id for the assistant. */
  senderId: string;
  text: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The message this one answers or quotes, when there is one. */
  inReplyTo: string | null;
  /** The API client's device a user turn was sent from, when it named one. */
  device?: string | undefined;
}

/** A delivery already answered: what to send again if the Relay redelivers it. */
export interface Answer {
  messageId: string;
  replyKey: string;
  replyText: string;
  createdAt: number;
  /** A completion's end when it was not a plain `stop` (its tool calls, or `length`). */
  stop?: GenerationStop | undefined;
}

/** A user's rating of a reply, identified by the reply's message id (its reply key). */
export interface Feedback {
  messageId: string;
  userId: string;
  rating: 'up' | 'down';
  createdAt: number;
}

/**
 * The history component's tables. Append-only: a new column or table is a new step.
 * `conversations.generation` is the highest reset generation this core has seen, kept on disk
 * so a Redis that forgot a session (TTL, flush) cannot make `/reset`-hidden turns come back.
 */
const MIGRATIONS = [
  `CREATE TABLE conversations (
     id TEXT PRIMARY KEY,
     generation INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   ) STRICT;
   CREATE TABLE turns (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     message_id TEXT NOT NULL UNIQUE,
     conversation_id TEXT NOT NULL,
     generation INTEGER NOT NULL,
     role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
     sender_id TEXT NOT NULL,
     text TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     in_reply_to TEXT
   ) STRICT;
   CREATE INDEX turns_by_conversation ON turns (conversation_id, generation, seq);
   CREATE TABLE answers (
     message_id TEXT PRIMARY KEY,
     reply_key TEXT NOT NULL,
     reply_text TEXT NOT NULL,
     created_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX answers_by_age ON answers (created_at);
   CREATE TABLE feedback (
     message_id TEXT NOT NULL,
     user_id TEXT NOT NULL,
     rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
     created_at INTEGER NOT NULL,
     PRIMARY KEY (message_id, user_id)
   ) STRICT;`,
  // API clients page history by (created_at, message_id), the order every core agrees on (their
  // cursors are that pair): one index for a user's turns across conversations, one within one.
  `CREATE INDEX turns_by_time ON turns (created_at, message_id);
   CREATE INDEX turns_by_conversation_time ON turns (conversation_id, created_at, message_id);`,
  // The device an API client sent a turn from: after a reload its other devices still say so.
  'ALTER TABLE turns ADD COLUMN device TEXT;',
  // A completion's end (JSON: finish reason and tool calls): a redelivery after a restart repeats it.
  'ALTER TABLE answers ADD COLUMN stop TEXT;',
];

interface TurnRow {
  message_id: string;
  conversation_id: string;
  role: 'user' | 'assistant';
  sender_id: string;
  text: string;
  created_at: number;
  in_reply_to: string | null;
  device: string | null;
}

const toTurn = (row: TurnRow): Turn => ({
  messageId: row.message_id,
  conversationId: row.conversation_id,
  role: row.role,
  senderId: row.sender_id,
  text: row.text,
  createdAt: row.created_at,
  inReplyTo: row.in_reply_to,
  ...(row.device === null ? {} : { device: row.device }),
});

/**
 * L3: the full history on disk, plus the records that make replies exactly-once across a core
 * restart (answers) and the ratings users give replies (feedback). Synchronous, as
 * better-sqlite3 is: each call is a few microseconds on an indexed table.
 *
 * @example
 * const history = new HistoryStore(openDatabase('.hearth/core.db'));
 * history.append([turn], 0, { messageId, replyKey, replyText, createdAt: Date.now() });
 * history.recent('telegram:42', 0, 20);
 */
export class HistoryStore {
  private readonly statements;
  /** API clients' view of these tables: pages of a user's turns and conversations. */
  readonly api: ApiHistory;

  constructor(private readonly db: Db) {
    migrate(db, 'history', MIGRATIONS);
    this.api = new ApiHistory(db);
    this.statements = {
      generation: db.prepare<[string], { generation: number }>('SELECT generation FROM conversations WHERE id = ?'),
      raiseGeneration: db.prepare<[string, number, number]>(
        `INSERT INTO conversations (id, generation, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET generation = max(generation, excluded.generation), updated_at = excluded.updated_at`,
      ),
      insertTurn: db.prepare<[string, string, number, string, string, string, number, string | null, string | null]>(
        `INSERT INTO turns (message_id, conversation_id, generation, role, sender_id, text, created_at, in_reply_to, device)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
      ),
      // The newest `limit` turns, newest first; reversed by the caller into reading order.
      recent: db.prepare<[string, number, number], TurnRow>(
        `SELECT message_id, conversation_id, role, sender_id, text, created_at, in_reply_to, device FROM turns
         WHERE conversation_id = ? AND generation = ? ORDER BY seq DESC LIMIT ?`,
      ),
      forgetOlder: db.prepare<[string, number]>('DELETE FROM turns WHERE conversation_id = ? AND generation < ?'),
      insertAnswer: db.prepare<[string, string, string, number, string | null]>(
        'INSERT INTO answers (message_id, reply_key, reply_text, created_at, stop) VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
      ),
      answer: db.prepare<[string], { reply_key: string; reply_text: string; created_at: number; stop: string | null }>(
        'SELECT reply_key, reply_text, created_at, stop FROM answers WHERE message_id = ?',
      ),
      pruneAnswers: db.prepare<[number]>('DELETE FROM answers WHERE created_at < ?'),
      upsertFeedback: db.prepare<[string, string, string, number]>(
        `INSERT INTO feedback (message_id, user_id, rating, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (message_id, user_id) DO UPDATE SET rating = excluded.rating, created_at = excluded.created_at`,
      ),
      feedback: db.prepare<[string], { user_id: string; rating: 'up' | 'down'; created_at: number }>(
        'SELECT user_id, rating, created_at FROM feedback WHERE message_id = ? ORDER BY created_at, user_id',
      ),
    };
  }

  /** The highest reset generation this core has recorded for the conversation (0 if none). */
  generation(conversationId: string): number {
    return this.statements.generation.get(conversationId)?.generation ?? 0;
  }

  /** The last `limit` turns of `generation`, oldest first. */
  recent(conversationId: string, generation: number, limit: number): Turn[] {
    return this.statements.recent.all(conversationId, generation, limit).reverse().map(toTurn);
  }

  /**
   * Stores turns of `generation` and, when given, the answer record, in one transaction: a
   * crash never leaves a reply on disk without its turn or the other way round. A turn whose
   * message id is already stored is kept as it was (a redelivery is not a second turn).
   */
  append(turns: readonly Turn[], generation: number, answer?: Answer): void {
    this.transaction(() => {
      const touched = new Set<string>();
      for (const turn of turns) {
        const { insertTurn } = this.statements;
        insertTurn.run(turn.messageId, turn.conversationId, generation, turn.role, turn.senderId, turn.text, turn.createdAt, turn.inReplyTo, turn.device ?? null);
        touched.add(turn.conversationId);
      }
      for (const conversationId of touched) this.statements.raiseGeneration.run(conversationId, generation, Date.now());
      if (answer) this.recordAnswer(answer);
    });
  }

  /**
   * Moves the conversation to `generation` (never backwards) and deletes its older turns: what
   * `/reset` does here, and what a core does when it learns of another core's reset.
   * Returns how many turns were deleted.
   */
  forget(conversationId: string, generation: number): number {
    return this.transaction(() => {
      this.statements.raiseGeneration.run(conversationId, generation, Date.now());
      this.api.forgetShown(conversationId, generation);
      return this.statements.forgetOlder.run(conversationId, generation).changes;
    });
  }

  /** The answer recorded for a delivered message, if it was answered (and not yet pruned). */
  answer(messageId: string): Answer | undefined {
    const row = this.statements.answer.get(messageId);
    if (!row) return undefined;
    const answer: Answer = { messageId, replyKey: row.reply_key, replyText: row.reply_text, createdAt: row.created_at };
    if (row.stop === null) return answer;
    // Our own column, but a file on disk: a damaged record is answered again, not thrown.
    try {
      return { ...answer, stop: GenerationStopSchema.parse(JSON.parse(row.stop)) };
    } catch {
      return undefined;
    }
  }

  /** Records an answer; the first one recorded for a message wins (it is the one that was sent). */
  recordAnswer(answer: Answer): void {
    const stop = answer.stop && answer.stop.reason !== 'stop' ? JSON.stringify(answer.stop) : null;
    this.statements.insertAnswer.run(answer.messageId, answer.replyKey, answer.replyText, answer.createdAt, stop);
  }

  /** Deletes answer records created before `before` (ms); returns how many. */
  pruneAnswers(before: number): number {
    return this.statements.pruneAnswers.run(before).changes;
  }

  /** Records a rating; a user rating the same reply again replaces their earlier rating. */
  recordFeedback(feedback: Feedback): void {
    this.statements.upsertFeedback.run(feedback.messageId, feedback.userId, feedback.rating, feedback.createdAt);
  }

  /** The ratings of one reply, oldest first. */
  feedbackFor(messageId: string): Feedback[] {
    return this.statements.feedback
      .all(messageId)
      .map((row) => ({ messageId, userId: row.user_id, rating: row.rating, createdAt: row.created_at }));
  }

  private transaction<R>(work: () => R): R {
    return this.db.transaction(work)();
  }
}
