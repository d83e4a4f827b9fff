/**
 * The message queue in the Relay's SQLite: per-conversation FIFO with one delivery in flight
 * per conversation, ack deadlines, attempts and dead letters. Plain functions over
 * `SqlStorage` so the rules read in one place (queue-index.ts keeps the pending part in memory
 * and admits, hands out and acks through them). Changes are counted with RETURNING:
 * `rowsWritten` also counts a conflicting insert.
 *
 * A message is pending while neither acked nor dead; in flight while a session holds it.
 *
 * Each conversation has two lanes, each in order with one delivery in flight: its messages, and
 * presses answering a question the core is waiting on (approval buttons, `press = 1`). A press is
 * delivered while the turn that asked is in flight, to the session holding it, outside the window;
 * the messages' order never depends on it.
 */
export interface Envelope {
  message_id: string;
  conversation_id: string;
  /** The normalized message as compact JWE, sealed to the core's public key. */
  sealed: string;
}

export type EnqueueOutcome = 'stored' | 'duplicate' | 'full';

const PENDING = 'acked_at IS NULL AND dead_at IS NULL';

/** Whether a message id was stored before (pending, answered or dead): a platform retry. */
export function knownMessage(sql: SqlStorage, messageId: string): boolean {
  return sql.exec('SELECT 1 FROM messages WHERE message_id = ?', messageId).toArray().length > 0;
}

/**
 * Marks a message in flight on a session, counts the attempt and pins its conversation to the
 * core; returns its sealed body (read by the same statement).
 */
export function markInFlight(
  sql: SqlStorage,
  item: { seq: number; conversation_id: string; affinity: string | null },
  session: { sessionId: string; coreId: string },
  now: number,
  deadline: number,
): string {
  const { sealed } = sql
    .exec<{ sealed: string }>(
      `UPDATE messages SET session_id = ?, core_id = ?, delivered_at = ?, deadline_at = ?, attempts = attempts + 1
        WHERE seq = ? RETURNING sealed`,
      session.sessionId,
      session.coreId,
      now,
      deadline,
      item.seq,
    )
    .one();
  if (item.affinity !== session.coreId) {
    sql.exec(
      `INSERT INTO affinity (conversation_id, core_id, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET core_id = excluded.core_id, updated_at = excluded.updated_at`,
      item.conversation_id,
      session.coreId,
      now,
    );
  }
  return sealed;
}

/**
 * Completes a message, and forgets its body: an answered message leaves only its id behind (for
 * dedupe). Any core of the deployment may ack it, not only the session it was delivered on: cores
 * that share a job queue answer each other's deliveries, and a late ack (the delivery moved on
 * meanwhile) still carries a real answer, stored in the same transaction. The later ack of the
 * same message is then void, and its reply a duplicate by key.
 */
export function ackMessage(sql: SqlStorage, messageId: string, now: number): boolean {
  return (
    sql
      .exec(
        `UPDATE messages SET acked_at = ?, session_id = NULL, deadline_at = NULL, sealed = ''
          WHERE message_id = ? AND ${PENDING} RETURNING seq`,
        now,
        messageId,
      )
      .toArray().length > 0
  );
}

/** The conversation a stored message belongs to (replies are routed by it). */
export function conversationOf(sql: SqlStorage, messageId: string): string | undefined {
  return sql.exec<{ conversation_id: string }>('SELECT conversation_id FROM messages WHERE message_id = ?', messageId).toArray()[0]
    ?.conversation_id;
}

/**
 * Pushes out the ack deadline of a delivery someone is still working on: the core it went to,
 * or another core of the deployment that took the job from their shared queue.
 */
export function extendDeadline(sql: SqlStorage, messageId: string, deadline: number): boolean {
  return (
    sql.exec('UPDATE messages SET deadline_at = ? WHERE message_id = ? AND session_id IS NOT NULL RETURNING seq', deadline, messageId).toArray()
      .length > 0
  );
}

/** Returns a session's in-flight messages to the queue (its tunnel closed or went silent). */
export function releaseSession(sql: SqlStorage, sessionId: string): number {
  return sql
    .exec(`UPDATE messages SET session_id = NULL, deadline_at = NULL WHERE session_id = ? AND ${PENDING} RETURNING seq`, sessionId)
    .toArray().length;
}

/** Returns every in-flight message whose session is not among `live` (after a restart). */
export function releaseOrphans(sql: SqlStorage, live: ReadonlySet<string>): number {
  const held = sql
    .exec<{ session_id: string }>('SELECT DISTINCT session_id FROM messages WHERE session_id IS NOT NULL')
    .toArray();
  return held.filter((row) => !live.has(row.session_id)).reduce((n, row) => n + releaseSession(sql, row.session_id), 0);
}

/**
 * Returns deliveries whose ack deadline passed to the queue, and unpins their conversations:
 * a core that stopped answering should not get them straight back.
 */
export function releaseOverdue(sql: SqlStorage, now: number): { message_id: string; core_id: string | null }[] {
  const overdue = sql
    .exec<{ message_id: string; conversation_id: string; core_id: string | null }>(
      `UPDATE messages SET session_id = NULL, deadline_at = NULL
        WHERE session_id IS NOT NULL AND deadline_at <= ? RETURNING message_id, conversation_id, core_id`,
      now,
    )
    .toArray();
  for (const { conversation_id } of overdue) sql.exec('DELETE FROM affinity WHERE conversation_id = ?', conversation_id);
  return overdue.map(({ message_id, core_id }) => ({ message_id, core_id }));
}

/** Takes a message out of delivery for good, keeping it for inspection. */
export function deadLetter(sql: SqlStorage, seq: number, reason: string, now: number): void {
  sql.exec('UPDATE messages SET dead_at = ?, dead_reason = ?, session_id = NULL, deadline_at = NULL WHERE seq = ?', now, reason, seq);
}

/** Dead-letters pending messages older than `cutoff` that no core holds; returns them. */
export function expireOlderThan(sql: SqlStorage, cutoff: number, now: number): { message_id: string; conversation_id: string }[] {
  return sql
    .exec<{ message_id: string; conversation_id: string }>(
      `UPDATE messages SET dead_at = ?, dead_reason = 'expired'
        WHERE ${PENDING} AND session_id IS NULL AND enqueued_at < ? RETURNING message_id, conversation_id`,
      now,
      cutoff,
    )
    .toArray();
}

/** When the queue next needs attention: the earliest ack deadline, and the oldest pending message. */
export function queueTimes(sql: SqlStorage): { nextDeadline: number | null; oldestPending: number | null } {
  return sql
    .exec<{ nextDeadline: number | null; oldestPending: number | null }>(
      `SELECT (SELECT MIN(deadline_at) FROM messages WHERE session_id IS NOT NULL) AS nextDeadline,
              (SELECT MIN(enqueued_at) FROM messages WHERE ${PENDING} AND session_id IS NULL) AS oldestPending`,
    )
    .one();
}

export interface DeadLetter {
  message_id: string;
  conversation_id: string;
  attempts: number;
  reason: string;
  enqueued_at: number;
  dead_at: number;
  /** Still sealed to the core's key: only the core can read it. */
  sealed: string;
}

/** Dead letters, newest first. */
export function listDeadLetters(sql: SqlStorage, limit = 100): DeadLetter[] {
  return sql
    .exec<{ message_id: string; conversation_id: string; attempts: number; reason: string; enqueued_at: number; dead_at: number; sealed: string }>(
      `SELECT message_id, conversation_id, attempts, dead_reason AS reason, enqueued_at, dead_at, sealed
         FROM messages WHERE dead_at IS NOT NULL ORDER BY dead_at DESC LIMIT ?`,
      limit,
    )
    .toArray();
}

export function deadLetterCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM messages WHERE dead_at IS NOT NULL').one().n;
}

/** Forgets answered messages older than `cutoff` (their ids only served dedupe). */
export function pruneAcked(sql: SqlStorage, cutoff: number): number {
  return sql.exec('DELETE FROM messages WHERE acked_at IS NOT NULL AND acked_at < ? RETURNING seq', cutoff).toArray().length;
}
