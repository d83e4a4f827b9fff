import { base64url } from 'jose';
import type { z } from 'zod';

/**
 * What a platform keeps at the Relay to answer a message (e-mail's addresses and subject,
 * Discord's interaction token), sealed with AES-GCM under a key from a Worker secret
 * (`sealingKeyOf`): what the Relay stores cannot be opened with what it stores. Each value is
 * bound to an id (additional data), so a row moved to another message or conversation does
 * not open.
 */

const encoder = new TextEncoder();

const imported = new WeakMap<Uint8Array, Promise<CryptoKey>>();
function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  let key = imported.get(raw);
  if (!key) {
    key = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    imported.set(raw, key);
  }
  return key;
}

/** `base64url(iv).base64url(ciphertext)` of `value` as JSON, bound to `boundTo`. */
export async function sealFor(key: Uint8Array, boundTo: string, value: unknown): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: encoder.encode(boundTo) }, await aesKey(key), encoder.encode(JSON.stringify(value)));
  return `${base64url.encode(iv)}.${base64url.encode(new Uint8Array(sealed))}`;
}

/** The value back, or undefined when it does not open under `key` and `boundTo` (another secret since, another row) or is not `schema`'s. */
export async function openFor<T>(key: Uint8Array, boundTo: string, sealed: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    const [iv = '', data = ''] = sealed.split('.');
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: base64url.decode(iv), additionalData: encoder.encode(boundTo) }, await aesKey(key), base64url.decode(data));
    return schema.parse(JSON.parse(new TextDecoder().decode(plain)));
  } catch {
    return undefined;
  }
}
