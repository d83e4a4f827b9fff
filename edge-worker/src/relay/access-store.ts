import type { Envelope } from './queue.js';

/**
 * Who may talk, as the Relay remembers it: senders the owner approved through pairing, and the
 * codes waiting for approval, each with the one message that asked (still sealed). The static
 * allowlist and the policies are configuration (config.access), not stored here.
 */
export interface PendingPairing {
  code: string;
  sender: string;
  name: string | undefined;
  conversationId: string;
  expiresAt: number;
}

export interface HeldPairing extends PendingPairing {
  held: Envelope;
}

type PairingRow = {
  code: string;
  sender: string;
  name: string | null;
  conversation_id: string;
  held_message_id: string;
  held_sealed: string;
  expires_at: number;
};

const toPending = (row: PairingRow): PendingPairing => ({
  code: row.code,
  sender: row.sender,
  name: row.name ?? undefined,
  conversationId: row.conversation_id,
  expiresAt: row.expires_at,
});

export function isApproved(sql: SqlStorage, sender: string): boolean {
  return sql.exec('SELECT 1 FROM approved_senders WHERE sender = ?', sender).toArray().length > 0;
}

export function approveSender(sql: SqlStorage, sender: string, name: string | undefined, now: number): void {
  sql.exec(
    'INSERT INTO approved_senders (sender, name, approved_at) VALUES (?, ?, ?) ON CONFLICT (sender) DO UPDATE SET name = excluded.name',
    sender,
    name ?? null,
    now,
  );
}

/** Shuts an approved sender out again; false when they were not approved. */
export function revokeSender(sql: SqlStorage, sender: string): boolean {
  return sql.exec('DELETE FROM approved_senders WHERE sender = ? RETURNING sender', sender).toArray().length > 0;
}

export function listApproved(sql: SqlStorage): { sender: string; name: string | undefined; approvedAt: number }[] {
  return sql
    .exec<{ sender: string; name: string | null; approved_at: number }>('SELECT sender, name, approved_at FROM approved_senders ORDER BY approved_at')
    .toArray()
    .map((row) => ({ sender: row.sender, name: row.name ?? undefined, approvedAt: row.approved_at }));
}

/** The sender's unexpired code, if one is waiting. */
export function pendingCodeOf(sql: SqlStorage, sender: string, now: number): PendingPairing | undefined {
  const row = sql.exec<PairingRow>('SELECT * FROM pairing_codes WHERE sender = ? AND expires_at > ?', sender, now).toArray()[0];
  return row ? toPending(row) : undefined;
}

export function listPending(sql: SqlStorage, now: number): PendingPairing[] {
  return sql.exec<PairingRow>('SELECT * FROM pairing_codes WHERE expires_at > ? ORDER BY created_at', now).toArray().map(toPending);
}

export function pendingPairings(sql: SqlStorage, now: number): number {
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pairing_codes WHERE expires_at > ?', now).one().n;
}

/** Stores a new code for the sender, replacing an expired one of theirs. */
export function insertPairing(sql: SqlStorage, pairing: HeldPairing, now: number): void {
  sql.exec('DELETE FROM pairing_codes WHERE sender = ?', pairing.sender);
  sql.exec(
    `INSERT INTO pairing_codes (code, sender, name, conversation_id, held_message_id, held_sealed, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    pairing.code,
    pairing.sender,
    pairing.name ?? null,
    pairing.conversationId,
    pairing.held.message_id,
    pairing.held.sealed,
    now,
    pairing.expiresAt,
  );
}

/** Removes and returns the unexpired pairing with this code: a code approves once. */
export function takePairing(sql: SqlStorage, code: string, now: number): HeldPairing | undefined {
  const row = sql.exec<PairingRow>('DELETE FROM pairing_codes WHERE code = ? AND expires_at > ? RETURNING *', code, now).toArray()[0];
  if (!row) return undefined;
  return { ...toPending(row), held: { message_id: row.held_message_id, conversation_id: row.conversation_id, sealed: row.held_sealed } };
}

/** Forgets expired codes and the messages they held. */
export function pruneExpiredPairings(sql: SqlStorage, now: number): number {
  return sql.exec('DELETE FROM pairing_codes WHERE expires_at <= ? RETURNING code', now).toArray().length;
}
