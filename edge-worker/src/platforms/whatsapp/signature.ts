import { timingSafeEqual } from 'hono/utils/buffer';
import { hmacSha256Hex } from '../hmac.js';

/** The header Meta signs every webhook POST with: `sha256=<hex HMAC-SHA256 of the body, keyed with the app secret>`. */
export const SIGNATURE_HEADER = 'X-Hub-Signature-256';

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i;

/** The `sha256=<hex>` value Meta would send for this body. */
async function signBody(appSecret: string, body: ArrayBuffer | Uint8Array): Promise<string> {
  return `sha256=${await hmacSha256Hex(appSecret, body)}`;
}

/**
 * Whether `header` is Meta's signature of exactly these bytes. Computed over the raw body as
 * received: Meta escapes non-ASCII as `\uXXXX`, so re-serialised JSON would not match.
 * Compared in constant time; a missing or malformed header is simply false.
 */
export async function isSignedByMeta(header: string | null, rawBody: ArrayBuffer, appSecret: string): Promise<boolean> {
  const provided = SIGNATURE.exec(header ?? '')?.[1];
  if (!provided) return false;
  return timingSafeEqual(`sha256=${provided.toLowerCase()}`, await signBody(appSecret, rawBody));
}
