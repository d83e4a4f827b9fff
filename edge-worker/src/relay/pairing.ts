import { PAIRING_ALPHABET, PAIRING_CODE_LENGTH, formatPairingCode, type AccessSettings } from '@hearth/shared';
import { insertPairing, isApproved, pendingCodeOf, pendingPairings } from './access-store.js';
import { insertReply } from './outbox.js';
import type { Envelope } from './queue.js';

/** A sender the policy says must be paired: who they are, as the platform named them. */
export interface PairingGate {
  sender: string;
  name?: string;
}

/**
 * - `approved`: paired before; queue the message.
 * - `code_sent`: a new code, with a notice telling the sender what to ask the owner; the message is held.
 * - `code_pending`: the sender has a code waiting already; the message is dropped (no second notice).
 * - `too_many_pending`: as many codes wait as allowed; the sender gets nothing, so strangers cannot make the bot spam.
 */
export type GateOutcome = 'approved' | 'code_sent' | 'code_pending' | 'too_many_pending';

/** 8 random characters of the pairing alphabet (32 symbols: 5 bits from each byte, no bias). */
export function newPairingCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PAIRING_CODE_LENGTH));
  return Array.from(bytes, (byte) => PAIRING_ALPHABET[byte % PAIRING_ALPHABET.length]).join('');
}

export function pairingNotice(code: string, ttlMs: number): string {
  const minutes = Math.round(ttlMs / 60_000);
  return [
    'This assistant is private. To talk to it, ask its owner to run:',
    '',
    `hearth pair approve ${formatPairingCode(code)}`,
    '',
    `The code expires in ${minutes} minute${minutes === 1 ? '' : 's'}. Your message will be answered once you are let in.`,
  ].join('\n');
}

/**
 * Decides what happens to a message from a sender who must be paired, inside the Relay's
 * single-threaded storage: a new code and its notice are stored together (the notice leaves
 * through the outbox like any reply, once, under the key `pairing:<code>`).
 */
export function gateSender(
  sql: SqlStorage,
  gate: PairingGate,
  envelope: Envelope,
  settings: Pick<AccessSettings, 'pairingTtlMs' | 'pairingMaxPending'>,
  now: number,
): { outcome: GateOutcome; code?: string } {
  if (isApproved(sql, gate.sender)) return { outcome: 'approved' };
  const pending = pendingCodeOf(sql, gate.sender, now);
  if (pending) return { outcome: 'code_pending', code: pending.code };
  if (pendingPairings(sql, now) >= settings.pairingMaxPending) return { outcome: 'too_many_pending' };
  const code = newPairingCode();
  insertPairing(
    sql,
    { code, sender: gate.sender, name: gate.name, conversationId: envelope.conversation_id, expiresAt: now + settings.pairingTtlMs, held: envelope },
    now,
  );
  insertReply(
    sql,
    `pairing:${code}`,
    { conversationId: envelope.conversation_id, inReplyTo: envelope.message_id, text: pairingNotice(code, settings.pairingTtlMs) },
    now,
  );
  return { outcome: 'code_sent', code };
}
