import { parseApiConversationId, type DeliveryLimits } from '@hearth/shared';

/**
 * The message queue in the Relay's SQLite: per-conversation FIFO with one delivery in flight
 * per conversation, ack deadlines, attempts and dead letters. Plain functions over
 * `SqlStorage` so the rules read in one place. Changes are counted with RETURNING:
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

export interface Deliverable extends Envelope {
  seq: number;
  attempts: number;
  /** The core this conversation last went to, if any. */
  affinity: string | null;
  /** The core that last held this message (a redelivery), if any. */
  last_core: string | null;
  /** 1: a press (its own lane); 0: a message. */
  press: number;
  /** For a press: the session holding its conversation's message in flight (the turn that asked), if any. */
  holder: string | null;
}

export type EnqueueOutcome = 'stored' | 'duplicate' | 'full';

const PENDING = 'acked_at IS NULL AND dead_at IS NULL';

/**
 * Stores a message unless its id is known already (a platform retry: `duplicate`, whatever
 * the queue's state), the queue holds `queueMax` pending messages, or its
 * sender already holds `queueMaxPerSender` of them: one sender filling the queue would
 * otherwise refuse everyone else (they get 503 + Retry-After; the others are still accepted).
 */
export function insertMessage(
  sql: SqlStorage,
  envelope: Envelope,
  now: number,
  { queueMax, queueMaxPerSender }: Pick<DeliveryLimits, 'queueMax' | 'queueMaxPerSender'>,
  { press = false }: { press?: boolean } = {},
): EnqueueOutcome {
  if (sql.exec('SELECT 1 FROM messages WHERE message_id = ?', envelope.message_id).toArray().length > 0) return 'duplicate';
  if (pendingCount(sql) >= queueMax) return 'full';
  if (pendingOfSender(sql, envelope.conversation_id) >= queueMaxPerSender) return 'full';
  const inserted = sql
    .exec(
      `INSERT INTO messages (message_id, conversation_id, sealed, enqueued_at, press) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (message_id) DO NOTHING RETURNING seq`,
      envelope.message_id,
      envelope.conversation_id,
      envelope.sealed,
      now,
      press ? 1 : 0,
    )
    .toArray();
  return inserted.length > 0 ? 'stored' : 'duplicate';
}

export function pendingCount(sql: SqlStorage): number {
  return sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE ${PENDING}`).one().n;
}

/**
 * Pending messages of the sender of a conversation, read from its id (the edge keeps no sender
 * beside the sealed message): an API user's conversations (`api:<user>:…`) together, else the
 * chat, a group counting as one sender however many people write in it.
 */
function pendingOfSender(sql: SqlStorage, conversationId: string): number {
  const api = parseApiConversationId(conversationId);
  // A range over the conversation index: every `api:<user>:` id sorts between these two.
  const [from, to] = api ? [`api:${api.user}:`, `api:${api.user};`] : [conversationId, conversationId];
  return sql
    .exec<{ n: number }>(`SELECT COUNT(*) AS n FROM messages WHERE conversation_id >= ? AND conversation_id <= ? AND ${PENDING}`, from, to)
    .one().n;
}

/**
 * The oldest pending message of each conversation's lane that has nothing in flight, oldest
 * first, with the core it has affinity to. A lane whose head is in flight yields nothing: that is
 * the per-conversation order (the press lane's head is looked up beside the messages', never
 * in front of it).
 */
export function selectDeliverable(sql: SqlStorage, limit: number): Deliverable[] {
  return sql
    .exec<Deliverable & Record<string, SqlStorageValue>>(
      `SELECT m.seq, m.message_id, m.conversation_id, m.sealed, m.attempts, a.core_id AS affinity, m.core_id AS last_core, m.press,
              CASE WHEN m.press = 1 THEN (SELECT t.session_id FROM messages t WHERE t.conversation_id = m.conversation_id AND t.press = 0
                                             AND t.session_id IS NOT NULL AND t.${PENDING} LIMIT 1) END AS holder
         FROM messages m LEFT JOIN affinity a ON a.conversation_id = m.conversation_id
        WHERE m.${PENDING} AND m.session_id IS NULL
          AND m.seq = (SELECT MIN(seq) FROM messages h WHERE h.conversation_id = m.conversation_id AND h.press = m.press AND h.${PENDING})
        ORDER BY m.seq
        LIMIT ?`,
      limit,
    )
    .toArray();
}

/** Marks a message in flight on a session, counts the attempt and pins its conversation to the core. */
export function markInFlight(
  sql: SqlStorage,
  item: Deliverable,
  session: { sessionId: string; coreId: string },
  now: number,
  deadline: number,
): void {
  sql.exec(
    `UPDATE messages SET session_id = ?, core_id = ?, delivered_at = ?, deadline_at = ?, attempts = attempts + 1
      WHERE seq = ?`,
    session.sessionId,
    session.coreId,
    now,
    deadline,
    item.seq,
  );
  if (item.affinity !== session.coreId) {
    sql.exec(
      `INSERT INTO affinity (conversation_id, core_id, updated_at) VALUES (?, ?, ?)
       ON CONFLICT (conversation_id) DO UPDATE SET core_id = excluded.core_id, updated_at = excluded.updated_at`,
      item.conversation_id,
      session.coreId,
      now,
    );
  }
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

/** The message of a conversation a core is working on now, and the session holding it. */
export function inFlightOf(sql: SqlStorage, conversationId: string): { message_id: string; session_id: string } | undefined {
  return sql
    .exec<{ message_id: string; session_id: string }>(
      `SELECT message_id, session_id FROM messages WHERE conversation_id = ? AND press = 0 AND session_id IS NOT NULL AND ${PENDING} LIMIT 1`,
      conversationId,
    )
    .toArray()[0];
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

/** Deliveries in flight per session id, against its window (presses are outside it). */
export function inFlightBySession(sql: SqlStorage): Map<string, number> {
  const rows = sql
    .exec<{ session_id: string; n: number }>(
      'SELECT session_id, COUNT(*) AS n FROM messages WHERE session_id IS NOT NULL AND press = 0 GROUP BY session_id',
    )
    .toArray();
  return new Map(rows.map((row) => [row.session_id, row.n]));
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
