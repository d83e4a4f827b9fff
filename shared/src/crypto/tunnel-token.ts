import { SignJWT, createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { HearthError } from '../errors.js';
import { SIGNING_ALG, importCoreKey, keyFor, type CoreKeySet } from './core-keys.js';

/**
 * Tokens the core signs with its own key: one audience per use, so a token for one can never
 * be replayed at another (a tunnel token does not open the admin routes, nor the reverse).
 */
export const CORE_AUDIENCE = { tunnel: 'hearth:tunnel', admin: 'hearth:admin' } as const;
export type CoreAudience = keyof typeof CORE_AUDIENCE;
/** Kept for the tunnel's callers. */
export const TUNNEL_AUDIENCE = CORE_AUDIENCE.tunnel;
/** Short-lived on purpose: the core signs a fresh one for every connection or request. */
export const TUNNEL_TOKEN_TTL_SECONDS = 60;
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Signs a short-lived JWT as the core (`Authorization: Bearer …`).
 *
 * @example
 * const token = await signCoreToken(privateKeySet, 'home-1', 'admin');
 */
export async function signCoreToken(
  keySet: CoreKeySet,
  coreId: string,
  audience: CoreAudience,
  ttlSeconds = TUNNEL_TOKEN_TTL_SECONDS,
): Promise<string> {
  const jwk = keyFor(keySet, 'sig');
  return new SignJWT({})
    .setProtectedHeader({ alg: SIGNING_ALG, kid: jwk.kid, typ: 'JWT' })
    .setSubject(coreId)
    .setAudience(CORE_AUDIENCE[audience])
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await importCoreKey(jwk));
}

/**
 * Verifies a core token against the core's public key set (the edge side). The algorithm is
 * pinned, so `alg: none` or an HMAC signed with the public key are refused.
 *
 * @returns the core id (`sub`)
 * @throws HearthError `tunnel_token_invalid` with the reason
 */
export async function verifyCoreToken(token: string, publicKeys: CoreKeySet, audience: CoreAudience): Promise<{ coreId: string }> {
  const jwks = createLocalJWKSet({ keys: publicKeys.keys.filter((k) => k.use === 'sig') } as JSONWebKeySet);
  try {
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: [SIGNING_ALG],
      audience: CORE_AUDIENCE[audience],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: TUNNEL_TOKEN_TTL_SECONDS * 5,
    });
    if (!payload.sub) throw new HearthError('tunnel_token_invalid', 'token has no subject');
    return { coreId: payload.sub };
  } catch (cause) {
    if (cause instanceof HearthError) throw cause;
    const reason = cause instanceof joseErrors.JOSEError ? cause.code : 'unknown';
    throw new HearthError('tunnel_token_invalid', `core token rejected (${reason})`, { cause });
  }
}

/** The tunnel's token: {@link signCoreToken} for the tunnel audience. */
export const signTunnelToken = (keySet: CoreKeySet, coreId: string, ttlSeconds = TUNNEL_TOKEN_TTL_SECONDS) =>
  signCoreToken(keySet, coreId, 'tunnel', ttlSeconds);

/** Verifies a tunnel token: {@link verifyCoreToken} for the tunnel audience. */
export const verifyTunnelToken = (token: string, publicKeys: CoreKeySet) => verifyCoreToken(token, publicKeys, 'tunnel');
