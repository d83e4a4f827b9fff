import type { Envelope } from './queue.js';

/**
 * Who may talk, as the Relay remembers it: senders the owner approved through pairing, and the
 * codes waiting for approval, each with the one message that asked (still sealed). The static
 * allowlist and the policies are configuration (config.access), not stored here.
 */
export interface PendingPairing {
  code: string;
  sender: string;
  /** Where the code was asked from: a group or channel chat, else the sender (see access/admission.ts). */
  source: string;
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
  source: string | null;
  name: string | null;
  conversation_id: string;
  held_message_id: string;
  held_sealed: string;
  expires_at: number;
};

const toPending = (row: PairingRow): PendingPairing => ({
  code: row.code,
  sender: row.sender,
  source: row.source ?? row.sender,
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

/** Unexpired codes asked from one source (a group counts once, however many members asked). */
export function pendingOfSource(sql: SqlStorage, source: string, now: number): number {
  return sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM pairing_codes WHERE source = ? AND expires_at > ?', source, now).one().n;
}

/**
 * Drops the oldest unexpired codes, with the messages they held, until at most `keep` remain;
 * returns what it dropped. A full cap then makes room for a newcomer instead of refusing them,
 * so codes asked for long ago (by an attacker, say) cannot shut out a fresh one.
 */
export function evictOldestPairings(sql: SqlStorage, keep: number, now: number): PendingPairing[] {
  const over = pendingPairings(sql, now) - keep;
  if (over <= 0) return [];
  return sql
    .exec<PairingRow>(
      `DELETE FROM pairing_codes WHERE code IN
         (SELECT code FROM pairing_codes WHERE expires_at > ? ORDER BY created_at, rowid LIMIT ?)
       RETURNING *`,
      now,
      over,
    )
    .toArray()
    .map(toPending);
}

/**
 * Why a code was not kept: `source_pending` (refused: its chat already had a code waiting),
 * `evicted` (dropped, the oldest, to make room for a newer one while the cap was full).
 */
export type PairingRefusalReason = 'source_pending' | 'evicted';

export interface PairingRefusals {
  reason: PairingRefusalReason;
  count: number;
  since: number;
  lastAt: number;
}

/** Counts codes turned away, kept in storage: a flood is worth knowing about after the object is evicted too. */
export function countRefusal(sql: SqlStorage, reason: PairingRefusalReason, now: number, by = 1): void {
  if (by <= 0) return;
  sql.exec(
    `INSERT INTO pairing_refusals (reason, count, since, last_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (reason) DO UPDATE SET count = count + excluded.count, last_at = excluded.last_at`,
    reason,
    by,
    now,
    now,
  );
}

export function listRefusals(sql: SqlStorage): PairingRefusals[] {
  return sql
    .exec<{ reason: PairingRefusalReason; count: number; since: number; last_at: number }>(
      'SELECT reason, count, since, last_at FROM pairing_refusals ORDER BY reason',
    )
    .toArray()
    .map((row) => ({ reason: row.reason, count: row.count, since: row.since, lastAt: row.last_at }));
}

/** Stores a new code for the sender, replacing an expired one of theirs. */
export function insertPairing(sql: SqlStorage, pairing: HeldPairing, now: number): void {
  sql.exec('DELETE FROM pairing_codes WHERE sender = ?', pairing.sender);
  sql.exec(
    `INSERT INTO pairing_codes (code, sender, source, name, conversation_id, held_message_id, held_sealed, created_at, expires_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    pairing.code,
    pairing.sender,
    pairing.source,
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
