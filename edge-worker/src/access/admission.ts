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
