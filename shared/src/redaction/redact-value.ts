import { replacementFor, redact, type RedactOptions } from './redact.js';

export interface RedactValueOptions extends RedactOptions {
  /** Nesting below this depth is replaced by `[Truncated]`. Default 32. */
  maxDepth?: number;
  /** More key names whose values are secrets (e.g. `['pin']`), compared ignoring case and `_-. `. */
  secretKeys?: readonly string[];
}

/** Last words of key names that name a secret: `accessToken`, `client_secret`, `x-api-key`. */
const SECRET_WORDS = new Set(['token', 'secret', 'password', 'passwd', 'passphrase', 'authorization', 'cookie', 'cookies', 'credential', 'credentials', 'apikey', 'privatekey']);
/** Last two words that do: `api_key`, `privateKey`, `AWS_SECRET_ACCESS_KEY`. */
const SECRET_PAIRS = new Set(['api key', 'private key', 'access key', 'secret key']);
/** JWK members that hold private or symmetric key material (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const JWK_PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']);

const normalize = (key: string) => key.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * Whether a key names a secret, judged on its last word(s) so that `tokenCount`, `max_tokens`,
 * `secretName` and `private_key_id` keep their values.
 */
export function isSecretKey(key: string, extra: readonly string[] = []): boolean {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  const last = words.at(-1);
  if (last === undefined) return false;
  if (SECRET_WORDS.has(last) || SECRET_PAIRS.has(words.slice(-2).join(' '))) return true;
  return extra.some((name) => normalize(name) === normalize(key));
}

interface Walk {
  options: RedactValueOptions;
  maxDepth: number;
  secretKeys: readonly string[];
  /** Objects on the path from the root: seeing one again is a cycle (shared objects are fine). */
  ancestors: Set<object>;
}

function hide(value: unknown, walk: Walk): unknown {
  // null, undefined and booleans carry nothing to hide, and keep `token: null` readable.
  if (value === null || value === undefined || typeof value === 'boolean') return value;
  return replacementFor('secret', walk.options.replacement);
}

/** Sets a property without invoking `__proto__` setters (keys come from untrusted data). */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** What JSON.stringify would see of an Error: nothing. Logs and exports want these fields. */
function errorFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = { name: error.name, message: error.message, stack: error.stack };
  for (const [key, value] of Object.entries(error)) define(fields, key, value);
  if (error.cause !== undefined) fields.cause = error.cause;
  return fields;
}

function walkObject(source: object, depth: number, walk: Walk): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const jwk = typeof (source as { kty?: unknown }).kty === 'string';
  for (const [key, value] of Object.entries(source)) {
    const secret = isSecretKey(key, walk.secretKeys) || (jwk && JWK_PRIVATE_MEMBERS.has(key));
    // Keys can hold personal data too (`{ "ada@example.com": ... }`); keep redacted keys distinct.
    const redactedKey = redact(key, walk.options).text;
    let outKey = redactedKey;
    for (let n = 2; Object.hasOwn(out, outKey); n++) outKey = `${redactedKey}#${n}`;
    define(out, outKey, secret ? hide(value, walk) : visit(value, depth + 1, walk));
  }
  return out;
}

function visit(value: unknown, depth: number, walk: Walk): unknown {
  if (typeof value === 'string') return redact(value, walk.options).text;
  if (value === null || typeof value !== 'object') return value;
  if (walk.ancestors.has(value)) return '[Circular]';
  if (depth >= walk.maxDepth) return '[Truncated]';
  walk.ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => visit(item, depth + 1, walk));
    if (value instanceof Error) return walkObject(errorFields(value), depth, walk);
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    // Dates and other values that say how they serialize: redact what would be written.
    if (typeof toJSON === 'function') return visit(toJSON.call(value), depth, walk);
    return walkObject(value, depth, walk);
  } finally {
    walk.ancestors.delete(value);
  }
}

/**
 * Deep redaction of a JSON-like value for logs and exports: every string goes through
 * {@link redact}, values under keys that name secrets (token, secret, password, authorization,
 * api_key, private_key, cookie, ...) and a JWK's private members are replaced whole. Returns a
 * new value; the input is not modified. Cycles become `[Circular]`, nesting deeper than
 * `maxDepth` becomes `[Truncated]`, Errors become `{ name, message, stack, ... }`.
 *
 * @example
 * redactValue({ user: 'ada@example.com', auth: { password: 'hunter22' }, tries: 2 });
 * // { user: '[REDACTED:email]', auth: { password: '[REDACTED:secret]' }, tries: 2 }
 */
export function redactValue(value: unknown, options: RedactValueOptions = {}): unknown {
  return visit(value, 0, { options, maxDepth: options.maxDepth ?? 32, secretKeys: options.secretKeys ?? [], ancestors: new Set() });
}
