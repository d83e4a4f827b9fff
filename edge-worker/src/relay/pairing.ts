import { PAIRING_ALPHABET, PAIRING_CODE_LENGTH, formatPairingCode, type AccessSettings } from '@hearth/shared';
import { countRefusal, evictOldestPairings, insertPairing, isApproved, pendingCodeOf, pendingOfSource, type PendingPairing } from './access-store.js';
import { insertReply } from './outbox.js';
import type { Envelope } from './queue.js';

/** A sender the policy says must be paired: who they are, as the platform named them, and where they ask from. */
export interface PairingGate {
  sender: string;
  name?: string;
  /** The group or channel chat, else the sender: see pairingSourceOf. */
  source: string;
}

/**
 * Codes one source may have waiting at once. One: a group's other members wait for the first
 * code to be approved or to expire, and a group full of accounts cannot take the whole cap.
 */
const PAIRING_PER_SOURCE = 1;

/**
 * - `approved`: paired before; queue the message.
 * - `code_sent`: a new code, with a notice telling the sender what to ask the owner; the message is held.
 * - `code_pending`: the sender has a code waiting already; the message is dropped (no second notice).
 * - `source_pending`: their group or channel has a code waiting (someone else's); the sender gets
 *   nothing, so a crowd in one chat cannot make the bot spam or take every code. Counted.
 *
 * When `pairingMaxPending` codes wait already, the oldest is evicted (counted) to make room: an
 * attacker's earlier codes cannot shut a newcomer out for the whole TTL.
 */
export type GateOutcome = 'approved' | 'code_sent' | 'code_pending' | 'source_pending';

/** 8 random characters of the pairing alphabet (32 symbols: 5 bits from each byte, no bias). */
function newPairingCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(PAIRING_CODE_LENGTH));
  return Array.from(bytes, (byte) => PAIRING_ALPHABET[byte % PAIRING_ALPHABET.length]).join('');
}

function pairingNotice(code: string, ttlMs: number): string {
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
): { outcome: GateOutcome; code?: string; evicted?: PendingPairing[] } {
  if (isApproved(sql, gate.sender)) return { outcome: 'approved' };
  const pending = pendingCodeOf(sql, gate.sender, now);
  if (pending) return { outcome: 'code_pending', code: pending.code };
  if (pendingOfSource(sql, gate.source, now) >= PAIRING_PER_SOURCE) {
    countRefusal(sql, 'source_pending', now);
    return { outcome: 'source_pending' };
  }
  const evicted = evictOldestPairings(sql, settings.pairingMaxPending - 1, now);
  countRefusal(sql, 'evicted', now, evicted.length);
  const code = newPairingCode();
  insertPairing(
    sql,
    {
      code,
      sender: gate.sender,
      source: gate.source,
      name: gate.name,
      conversationId: envelope.conversation_id,
      expiresAt: now + settings.pairingTtlMs,
      held: envelope,
    },
    now,
  );
  insertReply(
    sql,
    `pairing:${code}`,
    { conversationId: envelope.conversation_id, inReplyTo: envelope.message_id, text: pairingNotice(code, settings.pairingTtlMs) },
    now,
  );
  return { outcome: 'code_sent', code, ...(evicted.length > 0 ? { evicted } : {}) };
}
