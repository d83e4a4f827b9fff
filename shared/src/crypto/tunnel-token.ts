import { SignJWT, createLocalJWKSet, decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import { HearthError } from '../errors.js';
import { CLOCK_SKEW_SECONDS } from './clock-skew.js';
import { SIGNING_ALG, importCoreKey, keyFor, type CoreKeySet } from './core-keys.js';

/**
 * Tokens the core signs with its own key: one audience per use, so a token for one can never
 * be replayed at another (a tunnel token does not open the admin routes, nor the reverse).
 * These audiences are reserved: a client token may never carry one (see RESERVED_AUDIENCES).
 */
export const CORE_AUDIENCE = { tunnel: 'hearth:tunnel', admin: 'hearth:admin' } as const;
export type CoreAudience = keyof typeof CORE_AUDIENCE;
/** Kept for the tunnel's callers. */
export const TUNNEL_AUDIENCE = CORE_AUDIENCE.tunnel;
/** Short-lived on purpose: the core signs a fresh one for every connection or request. */
export const TUNNEL_TOKEN_TTL_SECONDS = 60;
/** A core token issued longer ago than this is refused whatever its `exp` says. */
export const CORE_TOKEN_MAX_AGE_SECONDS = TUNNEL_TOKEN_TTL_SECONDS * 5;

/** What a verified core token says: who signed it, its id, and when it stops being accepted. */
export interface VerifiedCoreToken {
  coreId: string;
  /** Unique per token: the edge accepts each one once. */
  jti: string;
  /** Seconds: after this (plus CLOCK_SKEW_SECONDS) the verifier refuses the token on its own. */
  acceptedUntil: number;
}

const CoreClaimsSchema = z.object({
  sub: z.string().min(1, 'token has no subject'),
  jti: z
    .string({ error: 'token has no jti (a core signs a unique token for each connection: upgrade the core)' })
    .min(1, 'token has an empty jti')
    .max(128, 'token has a jti over 128 characters'),
  iat: z.number().int(),
  exp: z.number().int(),
});

/**
 * Why a token is a client token rather than the core's own (`iss`, `typ: at+jwt`, scopes), or
 * undefined. Read before the signature is checked: it only ever refuses, so an unverified claim
 * cannot let anything in, and the reason is clear even when the audience is wrong too.
 */
function clientClaimsOf(token: string): string | undefined {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let claims: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    return undefined; // not a JWT: jwtVerify says so, with its reason
  }
  const isAccessToken = (typ: unknown) => typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === 'at+jwt';
  const found = [
    isAccessToken(header.typ) && 'header typ at+jwt',
    isAccessToken(claims.typ) && 'claim typ at+jwt',
    claims.iss !== undefined && 'iss',
    (claims.scope !== undefined || claims.scp !== undefined) && 'scope',
  ].filter((f): f is string => typeof f === 'string');
  return found.length > 0 ? found.join(', ') : undefined;
}

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
    // Unique per token, so the edge can accept each one once (a replay within its life is refused).
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(await importCoreKey(jwk));
}

/**
 * Verifies a core token against the core's public key set (the edge side). The algorithm is
 * pinned, so `alg: none` or an HMAC signed with the public key are refused; so is a client
 * token, whatever its audience. That each `jti` is used once is the caller's to check (the
 * edge does it in the Relay, see relay/seen-core-tokens.ts).
 *
 * @returns the core id (`sub`), the token's `jti`, and until when it is accepted
 * @throws HearthError `tunnel_token_invalid` with the reason
 */
export async function verifyCoreToken(token: string, publicKeys: CoreKeySet, audience: CoreAudience): Promise<VerifiedCoreToken> {
  const jwks = createLocalJWKSet({ keys: publicKeys.keys.filter((k) => k.use === 'sig') } as JSONWebKeySet);
  try {
    const clientClaims = clientClaimsOf(token);
    if (clientClaims) {
      throw new HearthError('tunnel_token_invalid', `core token rejected: this is a client token (${clientClaims}); only a token the core signs for ${CORE_AUDIENCE[audience]} is accepted here`);
    }
    const { payload } = await jwtVerify(token, jwks, {
      algorithms: [SIGNING_ALG],
      audience: CORE_AUDIENCE[audience],
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'iat', 'sub'],
      maxTokenAge: CORE_TOKEN_MAX_AGE_SECONDS,
    });
    const claims = CoreClaimsSchema.safeParse(payload);
    if (!claims.success) throw new HearthError('tunnel_token_invalid', `core token rejected: ${claims.error.issues[0]?.message ?? 'bad claims'}`);
    const { sub, jti, iat, exp } = claims.data;
    return { coreId: sub, jti, acceptedUntil: Math.min(exp, iat + CORE_TOKEN_MAX_AGE_SECONDS) };
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
