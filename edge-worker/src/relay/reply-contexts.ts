/**
 * What a platform needs to answer a message beyond its conversation id (e-mail: the sender's
 * address, the subject, the thread's Message-IDs), sealed by the edge before it gets here, so
 * nothing readable is kept. One per message; a reply that answers none (a push) takes its
 * conversation's newest.
 */
export function keepReplyContext(sql: SqlStorage, messageId: string, conversationId: string, sealed: string, now: number): void {
  sql.exec(
    'INSERT INTO reply_contexts (message_id, conversation_id, sealed, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
    messageId,
    conversationId,
    sealed,
    now,
  );
}

/** The sealed context of the message a reply answers, else its conversation's newest. */
export function replyContextOf(sql: SqlStorage, reply: { inReplyTo: string | null; conversationId: string }): string | undefined {
  return sql
    .exec<{ sealed: string }>(
      `SELECT sealed FROM reply_contexts WHERE message_id = ?
       UNION ALL SELECT * FROM (SELECT sealed FROM reply_contexts WHERE conversation_id = ? ORDER BY created_at DESC LIMIT 1)
       LIMIT 1`,
      reply.inReplyTo ?? '',
      reply.conversationId,
    )
    .toArray()[0]?.sealed;
}

/** Forgets contexts older than `cutoff`: no reply is due to their messages any more. */
export function pruneReplyContexts(sql: SqlStorage, cutoff: number): number {
  return sql.exec('DELETE FROM reply_contexts WHERE created_at < ? RETURNING message_id', cutoff).toArray().length;
}
