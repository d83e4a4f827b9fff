import { accessPolicyFor, senderKeyOf, type AccessSettings, type Message } from '@hearth/shared';

/**
 * What the policy says about a message's sender, before anything is stored:
 * `allowed` (open platform, or on the allowlist), `denied` (allowlist policy, not on it: never
 * queued, never answered) or `pairing` (the Relay decides: approved earlier, or offered a code).
 */
export type Admission = 'allowed' | 'denied' | 'pairing';

export function admissionOf(message: Message, access: AccessSettings): Admission {
  const policy = accessPolicyFor(access, message.platform);
  if (policy === 'open' || access.allowlist.has(senderKeyOf(message))) return 'allowed';
  return policy === 'pairing' ? 'pairing' : 'denied';
}

/**
 * Who a pairing code is charged to, so one source holds at most its share of the codes: a group
 * or channel chat counts once however many members ask (Telegram); a private chat is its sender,
 * and so is every WhatsApp message (its conversations are one-to-one).
 */
export function pairingSourceOf(message: Pick<Message, 'conversation' | 'sender'>): string {
  return message.conversation.type === 'private' ? senderKeyOf(message) : message.conversation.id;
}
