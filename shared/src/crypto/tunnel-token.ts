import { SignJWT, createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { HearthError } from '../errors.js';
import { SIGNING_ALG, importCoreKey, keyFor, type CoreKeySet } from './core-keys.js';

/** The audience of tunnel tokens; a client token for the API can never open the tunnel. */
export const TUNNEL_AUDIENCE = 'hearth:tunnel';
/** Short-lived on purpose: the core signs a fresh one on every (re)connect. */
export const TUNNEL_TOKEN_TTL_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Signs the JWT a core presents when it opens the tunnel (`Authorization: Bearer …`).
 *
 * @example
 * const token = await signTunnelToken(privateKeySet, 'home-1');
 */
export async function signTunnelToken(
  keySet: CoreKeySet,
  coreId: string,
  ttlSeconds = TUNNEL_TOKEN_TTL_SECONDS,
): Promise<string> {
  const jwk = keyFor(keySet, 'sig');
  return new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG, kid: jwk.kid, typ: 'JWT' })
    .setSubject(coreId)
    .setAudience(TUNNEL_AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await importCoreKey(jwk));
}

/**
 * Verifies a tunnel token against the core's public key set (the edge side). The algorithm is
 * pinned, so `alg: none` or an HMAC signed with the public key are refused.
 *
 * @returns the core id (`sub`)
 * @throws HearthError `tunnel_token_invalid` with the reason
 */
export async function verifyTunnelToken(token: string, publicKeys: CoreKeySet): Promise<{ coreId: string }> {
  const jwks = createLocalJWKSet({ keys: publicKeys.keys.filter((k) => k.use === 'sig') } as JSONWebKeySet);
  try {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: [SIGNING_ALG],
      audience: TUNNEL_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: TUNNEL_TOKEN_TTL_SECONDS * 5,
    });
    if (!payload.sub) throw new HearthError('tunnel_token_invalid', 'token has no subject');
    return { coreId: payload.sub };
  } catch (cause) {
    if (cause instanceof HearthError) throw cause;
    const reason = cause instanceof joseErrors.JOSEError ? cause.code : 'unknown';
    throw new HearthError('tunnel_token_invalid', `tunnel token rejected (${reason})`, { cause });
  }
}
