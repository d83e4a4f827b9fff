import { CompactEncrypt, compactDecrypt } from 'jose';
import { HearthError } from '../errors.js';
import { SEALING_ALG, SEALING_ENC, importCoreKey, keyFor, type CoreKeySet } from './core-keys.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Seals a payload to the core's public sealing key (compact JWE). The edge calls this before
 * it stores a message; only the core's private key opens it again.
 */
export async function seal(plaintext: string, keySet: CoreKeySet): Promise<string> {
  const jwk = keyFor(keySet, 'enc');
  return new CompactEncrypt(encoder.encode(plaintext))
    .setProtectedHeader({ alg: SEALING_ALG, enc: SEALING_ENC, kid: jwk.kid })
    .encrypt(await importCoreKey({ ...jwk, d: undefined }));
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
