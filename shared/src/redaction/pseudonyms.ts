import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { z } from 'zod';

/**
 * WhatsApp ids are phone numbers: the sender and conversation (`whatsapp:15551234567`) and,
 * base64 inside, the message ids (`whatsapp:wamid.HBgLMTU1NTEy…`). Logs carry a keyed hash of
 * each instead (`whatsapp:~k3j…`): the same id always gives the same pseudonym under one key, so
 * lines still correlate, and without the key a number cannot be tried against it. Synchronous
 * (a log line cannot wait for WebCrypto), hence a JS HMAC. E-mail senders (`email:ada@example.com`)
 * get the same treatment (`email:~…`).
 */
const PERSONAL_ID = /\b(?:whatsapp:(?:\+?\d{5,15}|wamid\.[A-Za-z0-9+/=_-]+)|email:[^\s"'\\<>,;@]{1,64}@[^\s"'\\<>,;]{1,255})/g;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const PSEUDONYM_CHARS = 12;
/** Distinct ids remembered per key: pseudonyms are cheap, but a log line can hold several. */
const CACHE_MAX = 1_000;

const encoder = new TextEncoder();

/** `HEARTH_LOG_KEY`, at either end. */
export const LogKeySchema = z.string().min(16, 'HEARTH_LOG_KEY must be at least 16 characters (e.g. openssl rand -hex 32)');

/** A pseudonym key from a secret (`HEARTH_LOG_KEY`, or another secret of that end). */
export function logKeyOf(secret: string | Uint8Array): Uint8Array {
  return hmac(sha256, encoder.encode('hearth log pseudonyms v1'), typeof secret === 'string' ? encoder.encode(secret) : secret);
}

/** A key nobody knows, for an end that has no secret to derive one from: safe, not stable. */
export function randomLogKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** The pseudonym of one id under `key`, with the id's platform prefix (`whatsapp:~k3j…`). */
export function pseudonymOf(key: Uint8Array, id: string): string {
  const mac = hmac(sha256, key, encoder.encode(id));
  let out = '';
  for (let i = 0; out.length < PSEUDONYM_CHARS; i++) out += BASE32[(mac[i] ?? 0) & 31];
  return `${id.slice(0, id.indexOf(':'))}:~${out}`;
}

/** Replaces every WhatsApp id and e-mail sender in `text` by its pseudonym. */
export function pseudonymizer(key: Uint8Array): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) =>
    text.includes('whatsapp:') || text.includes('email:')
      ? text.replace(PERSONAL_ID, (id) => {
          let pseudonym = cache.get(id);
          if (!pseudonym) {
            pseudonym = pseudonymOf(key, id);
            if (cache.size >= CACHE_MAX) cache.clear();
            cache.set(id, pseudonym);
          }
          return pseudonym;
        })
      : text;
}
