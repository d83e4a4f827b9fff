import { sealingKeyOf } from '@hearth/shared';
import { z } from 'zod';
import type { ReplyCredential } from '../outbound.js';
import { openFor, sealFor } from '../sealed.js';

/** An interaction token answers for 15 minutes; kept 30 s less, so a send never races its end. */
const TOKEN_LIFE_MS = 15 * 60_000 - 30_000;

/** When the interaction a credential answers was made (ms). */
export const interactionTimeOf = (credential: ReplyCredential): number => credential.expiresAt - TOKEN_LIFE_MS;

/** Discord's epoch: snowflakes count milliseconds from 2015-01-01 in their top 42 bits. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** When a snowflake (an interaction's id) was made, in ms since the Unix epoch. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);

/** What a reply needs of its interaction: the token, and whether its original response is ours to edit (a command's deferred answer). */
const InteractionAccessSchema = z.object({ token: z.string().min(1), original: z.boolean() });
export type InteractionAccess = z.infer<typeof InteractionAccessSchema>;

// The key comes from the bot token, a Worker secret: what the Relay stores at rest cannot be
// opened with what it stores. One derivation per isolate and token.
const keys = new Map<string, Uint8Array>();
function keyOf(botToken: string): Uint8Array {
  let key = keys.get(botToken);
  if (!key) {
    key = sealingKeyOf(botToken, 'hearth discord interaction token v1');
    keys.set(botToken, key);
  }
  return key;
}

/** Seals an interaction's token for the Relay, bound to the message it answers. */
export async function sealInteraction(botToken: string, messageId: string, interactionId: string, access: InteractionAccess): Promise<ReplyCredential> {
  return { sealed: await sealFor(keyOf(botToken), messageId, access), expiresAt: snowflakeTime(interactionId) + TOKEN_LIFE_MS };
}

/** The token back, or undefined when it does not open (another bot token since, or not ours). */
export const openInteraction = (botToken: string, messageId: string, sealed: string): Promise<InteractionAccess | undefined> =>
  openFor(keyOf(botToken), messageId, sealed, InteractionAccessSchema);
