import { base64url } from 'jose';
import type { ReplyCredential } from '../outbound.js';

/** An interaction token answers for 15 minutes; kept 30 s less, so a send never races its end. */
const TOKEN_LIFE_MS = 15 * 60_000 - 30_000;

/** When the interaction a credential answers was made (ms). */
export const interactionTimeOf = (credential: ReplyCredential): number => credential.expiresAt - TOKEN_LIFE_MS;

/** Discord's epoch: snowflakes count milliseconds from 2015-01-01 in their top 42 bits. */
const DISCORD_EPOCH_MS = 1_420_070_400_000n;

/** When a snowflake (an interaction's id) was made, in ms since the Unix epoch. */
export const snowflakeTime = (id: string): number => Number((BigInt(id) >> 22n) + DISCORD_EPOCH_MS);

/** What a reply needs of its interaction: the token, and whether its original response is ours to edit (a command's deferred answer). */
export interface InteractionAccess {
  token: string;
  original: boolean;
}

const encoder = new TextEncoder();

// The key is derived from the bot token, a Worker secret: what the Relay stores at rest cannot
// be opened with what it stores. One derivation per isolate and token.
const keys = new Map<string, Promise<CryptoKey>>();
function keyOf(botToken: string): Promise<CryptoKey> {
  let key = keys.get(botToken);
  if (!key) {
    key = crypto.subtle
      .importKey('raw', encoder.encode(botToken), 'HKDF', false, ['deriveKey'])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: encoder.encode('hearth discord interaction token v1') },
          material,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt'],
        ),
      );
    keys.set(botToken, key);
  }
  return key;
}

/**
 * Seals an interaction's token for the Relay: AES-GCM, bound to the message it answers (the
 * additional data), so a row moved to another message does not open.
 */
export async function sealInteraction(botToken: string, messageId: string, interactionId: string, access: InteractionAccess): Promise<ReplyCredential> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = encoder.encode(JSON.stringify(access));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(messageId) }, await keyOf(botToken), plain));
  return { sealed: `${base64url.encode(iv)}.${base64url.encode(sealed)}`, expiresAt: snowflakeTime(interactionId) + TOKEN_LIFE_MS };
}

/** The token back, or undefined when it does not open (another bot token since, or not ours). */
export async function openInteraction(botToken: string, messageId: string, sealed: string): Promise<InteractionAccess | undefined> {
  try {
    const [iv = '', data = ''] = sealed.split('.');
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: base64url.decode(iv), additionalData: encoder.encode(messageId) }, await keyOf(botToken), base64url.decode(data));
    const access = JSON.parse(new TextDecoder().decode(plain)) as InteractionAccess;
    return typeof access.token === 'string' && typeof access.original === 'boolean' ? access : undefined;
  } catch {
    return undefined;
  }
}
