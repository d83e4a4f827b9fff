import { ReplyButtonsSchema } from '@hearth/shared';
import type { OutboundReply } from '../platforms/outbound.js';

/**
 * Replies waiting to leave the edge, keyed by idempotency key. A key is inserted once, ever:
 * a core that answers the same message again (after a crash or a redelivery) is a no-op.
 */
export interface OutboxRow extends OutboundReply {
  key: string;
  attempts: number;
  /** Parts of a long reply already delivered: a retry resumes after them, never repeats them. */
  partsSent: number;
  /** Another unsent reply of its conversation waits behind it. */
  more: boolean;
}

export function insertReply(sql: SqlStorage, key: string, reply: OutboundReply, now: number): { duplicate: boolean } {
  const inserted = sql
    .exec(
      `INSERT INTO outbox (key, conversation_id, in_reply_to, text, buttons, created_at, next_attempt_at)
       VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING RETURNING key`,
      key,
      reply.conversationId,
      reply.inReplyTo,
      reply.text,
      reply.buttons ? JSON.stringify(reply.buttons) : null,
      now,
      now,
    )
    .toArray();
  return { duplicate: inserted.length === 0 };
}

/**
 * Only the oldest unsent reply of each conversation may go: a retried or paced reply is not
 * overtaken by a later one.
 */
const CONVERSATION_HEAD = `sent_at IS NULL AND failed_at IS NULL
  AND o.rowid = (SELECT MIN(rowid) FROM outbox p WHERE p.conversation_id = o.conversation_id AND p.sent_at IS NULL AND p.failed_at IS NULL)`;

/**
 * Due conversation heads, through the index of unsent replies: ordered by rowid, SQLite walked
 * the whole table, sent replies (kept for dedupe) included.
 */
export function dueReplies(sql: SqlStorage, now: number, limit = 50): OutboxRow[] {
  return sql
    .exec<{
      key: string;
      conversation_id: string;
      in_reply_to: string | null;
      text: string;
      buttons: string | null;
      attempts: number;
      parts_sent: number;
      more: number;
      credential: string | null;
      credential_expires_at: number | null;
      credential_used: number | null;
    }>(
      `SELECT key, conversation_id, in_reply_to, text, buttons, attempts, parts_sent,
              EXISTS (SELECT 1 FROM outbox n WHERE n.conversation_id = o.conversation_id AND n.rowid > o.rowid
                         AND n.sent_at IS NULL AND n.failed_at IS NULL) AS more,
              c.sealed AS credential, c.expires_at AS credential_expires_at, c.used AS credential_used
         FROM outbox o LEFT JOIN reply_credentials c ON c.message_id = o.in_reply_to AND c.expires_at > ?
        WHERE ${CONVERSATION_HEAD} AND next_attempt_at <= ?
        ORDER BY next_attempt_at LIMIT ?`,
      now,
      now,
      limit,
    )
    .toArray()
    .map((row) => ({
      key: row.key,
      conversationId: row.conversation_id,
      inReplyTo: row.in_reply_to,
      text: row.text,
      // Written by insertReply from a validated frame; parsed again rather than trusted as a cast.
      ...(row.buttons ? { buttons: ReplyButtonsSchema.parse(JSON.parse(row.buttons)) } : {}),
      ...(row.credential !== null && row.credential_expires_at !== null
        ? { credential: { sealed: row.credential, expiresAt: row.credential_expires_at, used: row.credential_used === 1 } }
        : {}),
      attempts: row.attempts,
      partsSent: row.parts_sent,
      more: row.more === 1,
    }));
}

/**
 * The earliest time a reply can go, for the alarm: of conversation heads only. A later reply
 * waiting behind a paced or retried one is not due, however old; counting it would wake the
 * object again and again for nothing until the head goes.
 */
export function nextDueAt(sql: SqlStorage): number | undefined {
  const row = sql.exec<{ at: number | null }>(`SELECT MIN(next_attempt_at) AS at FROM outbox o WHERE ${CONVERSATION_HEAD}`).toArray()[0];
  return row?.at ?? undefined;
}

/** Replies not yet sent (waiting, paced or retrying). */
export function unsentCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL').one().n;
}

/** Marks a reply sent and forgets its text: the edge keeps no conversation content once delivered. */
export function markSent(sql: SqlStorage, key: string, now: number): void {
  sql.exec("UPDATE outbox SET sent_at = ?, attempts = attempts + 1, last_error = NULL, text = '', buttons = NULL WHERE key = ?", now, key);
}

/** Forgets finished replies (sent or failed) older than `cutoff`: their keys only served dedupe. */
export function pruneFinished(sql: SqlStorage, cutoff: number): number {
  return sql
    .exec('DELETE FROM outbox WHERE (sent_at IS NOT NULL AND sent_at < ?) OR (failed_at IS NOT NULL AND failed_at < ?) RETURNING key', cutoff, cutoff)
    .toArray().length;
}

/** One more part of a long reply is delivered; the next one is due at once (pacing permitting). */
export function markPartSent(sql: SqlStorage, key: string): void {
  sql.exec('UPDATE outbox SET parts_sent = parts_sent + 1, last_error = NULL WHERE key = ?', key);
}

/**
 * Tries again at `at`. `counted`: whether this was a failed attempt; a rate limit (429) is the
 * platform asking us to wait, not a failure, and does not bring the reply closer to giving up.
 */
export function markRetry(sql: SqlStorage, key: string, at: number, error: string, counted = true): void {
  sql.exec(
    'UPDATE outbox SET attempts = attempts + ?, next_attempt_at = ?, last_error = ? WHERE key = ?',
    counted ? 1 : 0,
    at,
    error,
    key,
  );
}

/** Holds a reply back until `at` without an attempt (pacing: the platform's rate limits). */
export function deferReply(sql: SqlStorage, key: string, at: number): void {
  sql.exec('UPDATE outbox SET next_attempt_at = ? WHERE key = ?', at, key);
}

/**
 * Gives up on a reply and forgets its text like a sent one: a failure is no reason to keep
 * content at the edge (the core still has it). The key and the reason stay, for dedupe and status.
 */
export function markFailed(sql: SqlStorage, key: string, now: number, error: string): void {
  sql.exec(
    "UPDATE outbox SET attempts = attempts + 1, failed_at = ?, last_error = ?, text = '', buttons = NULL WHERE key = ?",
    now,
    error.slice(0, ERROR_MAX_CHARS),
    key,
  );
}

/** A platform's description can quote the refused text back; only its start is kept. */
const ERROR_MAX_CHARS = 200;
