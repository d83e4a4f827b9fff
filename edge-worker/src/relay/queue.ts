/**
 * The message queue in the Relay's SQLite: per-conversation FIFO with one delivery in flight
 * per conversation. Plain functions over `SqlStorage` so the rules read in one place.
 * Changes are counted with RETURNING: `rowsWritten` also counts a conflicting insert.
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
}

/** Stores a message unless its id is known already (a platform retry). */
export function insertMessage(sql: SqlStorage, envelope: Envelope, now: number): { duplicate: boolean } {
  const inserted = sql
    .exec(
      `INSERT INTO messages (message_id, conversation_id, sealed, enqueued_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (message_id) DO NOTHING RETURNING seq`,
      envelope.message_id,
      envelope.conversation_id,
      envelope.sealed,
      now,
    )
    .toArray();
  return { duplicate: inserted.length === 0 };
}

/**
 * The oldest unacked message of each conversation that has nothing in flight, oldest
 * conversation first. A conversation whose head is in flight yields nothing: that is the
 * per-conversation order.
 */
export function selectDeliverable(sql: SqlStorage, limit: number): Deliverable[] {
  return sql
    .exec<{ seq: number; message_id: string; conversation_id: string; sealed: string; attempts: number }>(
      `SELECT m.seq, m.message_id, m.conversation_id, m.sealed, m.attempts
         FROM messages m
        WHERE m.acked_at IS NULL AND m.session_id IS NULL
          AND m.seq = (SELECT MIN(seq) FROM messages h
                        WHERE h.conversation_id = m.conversation_id AND h.acked_at IS NULL)
        ORDER BY m.seq
        LIMIT ?`,
      limit,
    )
    .toArray();
}

/** Marks a message in flight on a session and counts the attempt. */
export function markInFlight(sql: SqlStorage, seq: number, sessionId: string, now: number): void {
  sql.exec(
    'UPDATE messages SET session_id = ?, delivered_at = ?, attempts = attempts + 1 WHERE seq = ?',
    sessionId,
    now,
    seq,
  );
}

/** Completes a delivery. Only the session holding it may ack: a late ack from a dead session is void. */
export function ackMessage(sql: SqlStorage, messageId: string, sessionId: string, now: number): boolean {
  return (
    sql
      .exec(
        `UPDATE messages SET acked_at = ?, session_id = NULL
          WHERE message_id = ? AND session_id = ? AND acked_at IS NULL RETURNING seq`,
        now,
        messageId,
        sessionId,
      )
      .toArray().length > 0
  );
}

/** Returns a session's in-flight messages to the queue (its tunnel closed). */
export function releaseSession(sql: SqlStorage, sessionId: string): number {
  return sql
    .exec('UPDATE messages SET session_id = NULL WHERE session_id = ? AND acked_at IS NULL RETURNING seq', sessionId)
    .toArray().length;
}

/** Returns every in-flight message whose session is not among `live` (after a restart). */
export function releaseOrphans(sql: SqlStorage, live: ReadonlySet<string>): number {
  const held = sql
    .exec<{ session_id: string }>('SELECT DISTINCT session_id FROM messages WHERE session_id IS NOT NULL')
    .toArray();
  return held.filter((row) => !live.has(row.session_id)).reduce((n, row) => n + releaseSession(sql, row.session_id), 0);
}

/** Deliveries in flight per session id. */
export function inFlightBySession(sql: SqlStorage): Map<string, number> {
  const rows = sql
    .exec<{ session_id: string; n: number }>(
      'SELECT session_id, COUNT(*) AS n FROM messages WHERE session_id IS NOT NULL GROUP BY session_id',
    )
    .toArray();
  return new Map(rows.map((row) => [row.session_id, row.n]));
}
