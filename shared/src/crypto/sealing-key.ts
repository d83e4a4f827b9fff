import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const encoder = new TextEncoder();

/**
 * An AES-256 key of its own for `purpose` from a secret (HKDF-SHA256): one secret gives several
 * keys that never mix (the log pseudonyms' key never seals, a sealing key never keys a pseudonym).
 */
export function sealingKeyOf(secret: string, purpose: string): Uint8Array {
  return hkdf(sha256, encoder.encode(secret), undefined, encoder.encode(purpose), 32);
}
