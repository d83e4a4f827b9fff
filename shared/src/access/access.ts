import { z } from 'zod';
import { PlatformSchema, type Message, type Platform } from '../message.js';

/**
 * Who may talk to the assistant, per platform:
 * - `open`: anyone who finds the bot (only for bots meant to be public);
 * - `allowlist`: only the senders in HEARTH_ALLOWLIST;
 * - `pairing`: the allowlist, plus senders the owner approved with a one-time code.
 */
export const AccessPolicySchema = z.enum(['open', 'allowlist', 'pairing']);
export type AccessPolicy = z.infer<typeof AccessPolicySchema>;

/** A sender across platforms: `telegram:42`, `whatsapp:15551234567`, `slack:U024BE7LH`, `discord:80351110224678912`, `email:ada@example.com`. */
export const SenderKeySchema = z
  .string()
  .max(300)
  .regex(/^[a-z]+:[^\s,]+$/, 'a sender is platform:id, e.g. telegram:42')
  .refine((key) => PlatformSchema.safeParse(key.slice(0, key.indexOf(':'))).success, 'a sender starts with telegram:, whatsapp:, slack:, discord:, email:, api: or mqtt:');

/** A sender the owner may let in (allowlist): a sender key that is one person or chat. */
export const AdmissibleSenderSchema = SenderKeySchema.refine((key) => !TELEGRAM_PLACEHOLDER_SENDERS.includes(key), {
  error: (issue) =>
    `${String(issue.input)} is Telegram's placeholder for anonymous admins and channels, the same for everyone who posts that way: allow the group's or channel's own id (telegram:-100…) instead`,
});

/**
 * Telegram's placeholder users: GroupAnonymousBot (anonymous group admins), Channel_Bot (posts
 * on behalf of a channel) and 777000 (Telegram's service account, linked-channel forwards). Any
 * number of people appear as them: never a person, never admitted.
 */
export const TELEGRAM_PLACEHOLDER_SENDERS: readonly string[] = ['telegram:1087968824', 'telegram:136817688', 'telegram:777000'];

/** Sender ids are already platform-qualified (`telegram:42`): they are the sender's key. */
export const senderKeyOf = (message: Pick<Message, 'sender'>): string => message.sender.id;

/** Pairing codes: 8 characters without look-alikes (no I, O, 0, 1), shown as `ABCD-EFGH`. */
export const PAIRING_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const PAIRING_CODE_LENGTH = 8;

/** The code as stored: what the owner typed, without dashes or spaces, upper-cased. */
export function normalizePairingCode(typed: string): string {
  return typed.replace(/[\s-]/g, '').toUpperCase();
}

/** `ABCDEFGH` → `ABCD-EFGH`, easier to read out and type. */
export function formatPairingCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

export interface AccessSettings {
  /** The policy of platforms without an override. */
  defaultPolicy: AccessPolicy;
  overrides: Partial<Record<Platform, AccessPolicy>>;
  /** Sender keys always let in (under `allowlist` and `pairing`). */
  allowlist: ReadonlySet<string>;
  /** How long a pairing code stays valid. */
  pairingTtlMs: number;
  /** Codes waiting for approval at once; unknown senders beyond it get none (and are not answered). */
  pairingMaxPending: number;
}

export const accessPolicyFor = (access: AccessSettings, platform: Platform): AccessPolicy =>
  access.overrides[platform] ?? access.defaultPolicy;
