import type { ReplyCredential } from '../platforms/outbound.js';

/** Keeps what a message's reply must be sent with, once (a retried webhook brings the same). */
export function keepCredential(sql: SqlStorage, messageId: string, credential: ReplyCredential): void {
  sql.exec(
    'INSERT INTO reply_credentials (message_id, sealed, expires_at) VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING',
    messageId,
    credential.sealed,
    credential.expiresAt,
  );
}

/** A part of a reply went out with the credential: the next one knows it is not the first. */
export function markCredentialUsed(sql: SqlStorage, messageId: string): void {
  sql.exec('UPDATE reply_credentials SET used = 1 WHERE message_id = ?', messageId);
}

/** Forgets credentials past their life: they answer nothing any more. */
export function pruneCredentials(sql: SqlStorage, now: number): number {
  return sql.exec('DELETE FROM reply_credentials WHERE expires_at <= ? RETURNING message_id', now).toArray().length;
}
