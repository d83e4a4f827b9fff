import { base64url } from 'jose';
import { z } from 'zod';

/**
 * What a reply to one e-mail needs that its conversation id does not say: where it goes, under
 * which subject, and the thread's Message-IDs. Addresses and subjects are personal: the edge
 * keeps them only sealed (AES-GCM under a key from HEARTH_LOG_KEY), opened at send time.
 */
export const ReplyContextSchema = z.object({
  /** The address replies go to: the authenticated From. */
  to: z.string().min(3).max(320),
  subject: z.string().max(1_000),
  /** The answered mail's Message-ID, with its angle brackets. */
  messageId: z.string().min(3).max(1_000),
  /** Its References, oldest first (ours gain its Message-ID). */
  references: z.array(z.string().max(1_000)).max(100),
});
export type ReplyContext = z.infer<typeof ReplyContextSchema>;

const IV_BYTES = 12;
const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function aesKey(raw: Uint8Array): Promise<CryptoKey> {
  let key = keys.get(raw);
  if (!key) {
    key = crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
    keys.set(raw, key);
  }
  return key;
}

/** `base64url(iv ‖ ciphertext)`. */
export async function sealReplyContext(context: ReplyContext, key: Uint8Array): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await aesKey(key), new TextEncoder().encode(JSON.stringify(context))));
  const out = new Uint8Array(IV_BYTES + sealed.byteLength);
  out.set(iv, 0);
  out.set(sealed, IV_BYTES);
  return base64url.encode(out);
}

/** The context, or undefined when it does not open under `key` (another HEARTH_LOG_KEY) or is not one. */
export async function openReplyContext(sealed: string, key: Uint8Array): Promise<ReplyContext | undefined> {
  try {
    const bytes = base64url.decode(sealed);
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: bytes.slice(0, IV_BYTES) }, await aesKey(key), bytes.slice(IV_BYTES));
    return ReplyContextSchema.parse(JSON.parse(new TextDecoder().decode(plain)));
  } catch {
    return undefined;
  }
}
