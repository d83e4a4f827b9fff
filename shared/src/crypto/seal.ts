import { CompactEncrypt, compactDecrypt } from 'jose';
import { HearthError } from '../errors.js';
import { SEALING_ALG, SEALING_ENC, importCoreKey, keyFor, type CoreJwk, type CoreKeySet } from './core-keys.js';

const encoder = new TextEncoder();

// One public copy per private JWK (a set may hold the private key), so the import cache hits.
const publicCopies = new WeakMap<object, CoreJwk>();
function publicHalf(jwk: CoreJwk): CoreJwk {
  if (!jwk.d) return jwk;
  let copy = publicCopies.get(jwk);
  if (!copy) {
    const { d: _private, ...rest } = jwk;
    copy = rest;
    publicCopies.set(jwk, copy);
  }
  return copy;
}
const decoder = new TextDecoder();

/**
 * Seals a payload to the core's public sealing key (compact JWE). The edge calls this before
 * it stores a message; only the core's private key opens it again.
 */
export async function seal(plaintext: string, keySet: CoreKeySet): Promise<string> {
  const jwk = keyFor(keySet, 'enc');
  return new CompactEncrypt(encoder.encode(plaintext))
    .setProtectedHeader({ alg: SEALING_ALG, enc: SEALING_ENC, kid: jwk.kid })
    .encrypt(await importCoreKey(publicHalf(jwk)));
}

/**
 * Opens a sealed payload with the core's private key set.
 *
 * @throws HearthError `unseal_failed` when the payload was sealed to another key or altered
 */
export async function unseal(jwe: string, privateKeySet: CoreKeySet): Promise<string> {
  const jwk = keyFor(privateKeySet, 'enc');
  try {
    const { plaintext } = await compactDecrypt(jwe, await importCoreKey(jwk), {
      keyManagementAlgorithms: [SEALING_ALG],
      contentEncryptionAlgorithms: [SEALING_ENC],
    });
    return decoder.decode(plaintext);
  } catch (cause) {
    throw new HearthError('unseal_failed', 'sealed payload cannot be opened with this core key', { cause });
  }
}
