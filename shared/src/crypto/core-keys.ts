import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { z } from 'zod';
import { HearthError } from '../errors.js';

/**
 * The core's identity: two key pairs, one to sign tunnel tokens (ES256, P-256) and one that the
 * edge seals queued messages to (ECDH-ES on X25519: every message pays for one key agreement on
 * each side, and X25519's is about twice as cheap as P-256's). Two keys, not one, so that
 * signing and encryption never share key material. The edge holds only the public half, as a
 * JWK Set.
 */
export const SIGNING_ALG = 'ES256';
export const SEALING_ALG = 'ECDH-ES';
export const SEALING_ENC = 'A256GCM';

const SigningJwk = z.object({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  x: z.string(),
  y: z.string(),
  d: z.string().optional(),
  kid: z.string().min(1),
  use: z.literal('sig'),
  alg: z.literal(SIGNING_ALG),
});

const SealingJwk = z.object({
  kty: z.literal('OKP'),
  crv: z.literal('X25519'),
  x: z.string(),
  d: z.string().optional(),
  kid: z.string().min(1),
  use: z.literal('enc'),
  alg: z.literal(SEALING_ALG),
});

const CoreJwkSchema = z.discriminatedUnion('use', [SigningJwk, SealingJwk]);

export const CoreKeySetSchema = z.object({ keys: z.array(CoreJwkSchema).min(2) });
export type CoreKeySet = z.infer<typeof CoreKeySetSchema>;
export type CoreJwk = z.infer<typeof CoreJwkSchema>;

async function makeJwk(use: 'sig' | 'enc'): Promise<CoreJwk> {
  const { privateKey } =
    use === 'sig'
      ? await generateKeyPair(SIGNING_ALG, { crv: 'P-256', extractable: true })
      : await generateKeyPair(SEALING_ALG, { crv: 'X25519', extractable: true });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return CoreJwkSchema.parse({ ...jwk, kid, use, alg: use === 'sig' ? SIGNING_ALG : SEALING_ALG });
}

/** Generates a fresh private key set (signing + sealing). Store it with mode 0600. */
export async function generateCoreKeySet(): Promise<CoreKeySet> {
  return { keys: [await makeJwk('sig'), await makeJwk('enc')] };
}

/** The public half of a key set: what `hearth keygen` prints for the edge. */
export function publicKeySet(keySet: CoreKeySet): CoreKeySet {
  return { keys: keySet.keys.map(({ d: _private, ...pub }) => pub) };
}

/**
 * Parses a JWK Set from configuration (a JSON string). Errors name `variable` so a
 * misconfigured deployment says which setting to fix.
 */
export function parseCoreKeySet(json: string, variable: string, requirePrivate = false): CoreKeySet {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new HearthError('bad_config', `${variable} is not JSON; expected a JWK Set ({"keys":[...]})`, { cause });
  }
  const parsed = CoreKeySetSchema.safeParse(raw);
  if (!parsed.success) {
    throw new HearthError('bad_config', `${variable} is not a Hearth core JWK Set: ${parsed.error.message}`, {
      cause: parsed.error,
    });
  }
  for (const use of ['sig', 'enc'] as const) {
    const key = parsed.data.keys.find((k) => k.use === use);
    if (!key) throw new HearthError('bad_config', `${variable} has no key with "use":"${use}"`);
    if (requirePrivate && !key.d) {
      throw new HearthError('bad_config', `${variable} holds only public keys; the core needs its private key set`);
    }
  }
  return parsed.data;
}

/** The key of a set for one use; the set was validated to hold one of each. */
export function keyFor<U extends CoreJwk['use']>(keySet: CoreKeySet, use: U): Extract<CoreJwk, { use: U }> {
  const key = keySet.keys.find((k): k is Extract<CoreJwk, { use: U }> => k.use === use);
  if (!key) throw new HearthError('bad_config', `key set has no "${use}" key`);
  return key;
}

// Importing a JWK costs as much as a tenth of a seal: keep each imported key with its JWK.
const imported = new WeakMap<object, Promise<CryptoKey>>();

/** Imports one JWK of the set as a WebCrypto key, once per JWK object. */
export function importCoreKey(jwk: CoreJwk): Promise<CryptoKey> {
  let key = imported.get(jwk);
  if (!key) {
    key = importJWK(jwk as JWK, jwk.alg).then((k) => {
      if (k instanceof Uint8Array) throw new HearthError('bad_config', 'expected an asymmetric key');
      return k;
    });
    imported.set(jwk, key);
  }
  return key;
}
