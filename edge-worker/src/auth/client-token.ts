import { CLOCK_SKEW_SECONDS, CORE_CLIENT_ISSUER, ClientClaimsSchema, SIGNING_ALG, type ClientClaims, type ClientScope, type CoreKeySet } from '@hearth/shared';
import type { MiddlewareHandler } from 'hono';
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ApiError, refusalError } from '../api/errors.js';
import type { AppEnv } from '../app-env.js';
import type { EdgeConfig } from '../config.js';
import { bearerOf } from './bearer.js';
import { relayFor } from '../relay/stub.js';

/** Who a client request is from, once its token checked out. */
export type ClientPrincipal = ClientClaims & {
  /** What rate limits and revocation key the token by: its `jti`, else its signature. */
  tokenKey: string;
};

declare module 'hono' {
  interface ContextVariableMap {
    /** The client a `/v1` request is from (set by {@link clientAuth}). */
    client: ClientPrincipal;
  }
}

/**
 * Browsers cannot set headers on a WebSocket: they offer the token as a subprotocol
 * (`new WebSocket(url, ['hearth.v1', 'hearth.bearer.' + token])`).
 */
const BEARER_SUBPROTOCOL_PREFIX = 'hearth.bearer.';

const challenge = (error?: string, description?: string, scope?: string) =>
  ['Bearer realm="hearth"', error && `error="${error}"`, description && `error_description="${description.replace(/["\\]/g, '')}"`, scope && `scope="${scope}"`]
    .filter(Boolean)
    .join(', ');

const unauthorized = (message: string, cause?: unknown) =>
  new ApiError(401, 'invalid_token', message, { headers: { 'WWW-Authenticate': challenge('invalid_token', message) }, cause });

/** The bearer token of a request: the Authorization header, or a WebSocket's subprotocol. */
function bearerTokenOf(request: Request): string | undefined {
  const header = bearerOf(request.headers.get('Authorization'));
  if (header) return header;
  const offered = (request.headers.get('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))?.slice(BEARER_SUBPROTOCOL_PREFIX.length) || undefined;
}

// Key sets per isolate: the core's (rebuilt only if the configuration object changes) and
// each identity provider's remote set, which jose caches and refreshes on an unknown `kid`.
const coreKeySets = new WeakMap<CoreKeySet, JWTVerifyGetKey>();
const remoteKeySets = new Map<string, JWTVerifyGetKey>();

function coreVerifierKeys(coreKeys: CoreKeySet): JWTVerifyGetKey {
  let keys = coreKeySets.get(coreKeys);
  if (!keys) {
    keys = createLocalJWKSet({ keys: coreKeys.keys.filter((k) => k.use === 'sig') } as JSONWebKeySet);
    coreKeySets.set(coreKeys, keys);
  }
  return keys;
}

/**
 * Which keys, issuer and algorithms a token is checked against, chosen by its (not yet
 * trusted) `iss`: the core's own key for tokens the core issued, the identity provider's for
 * its issuer. Algorithms are pinned per issuer: `none`, and HMAC with a public key as secret,
 * are refused whatever the header says.
 */
function verifierFor(issuer: unknown, config: EdgeConfig): { keys: JWTVerifyGetKey; issuer: string; algorithms: string[] } | undefined {
  if (issuer === CORE_CLIENT_ISSUER) return { keys: coreVerifierKeys(config.coreKeys), issuer: CORE_CLIENT_ISSUER, algorithms: [SIGNING_ALG] };
  const idp = config.api.identityProvider;
  if (!idp || issuer !== idp.issuer) return undefined;
  if (idp.jwks) return { keys: createLocalJWKSet(idp.jwks as JSONWebKeySet), issuer: idp.issuer, algorithms: idp.algorithms };
  if (!idp.jwksUrl) return undefined;
  let remote = remoteKeySets.get(idp.jwksUrl);
  if (!remote) {
    remote = createRemoteJWKSet(new URL(idp.jwksUrl), { timeoutDuration: 5_000, cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    remoteKeySets.set(idp.jwksUrl, remote);
  }
  return { keys: remote, issuer: idp.issuer, algorithms: idp.algorithms };
}

/**
 * Verifies a client token: signature against the issuer's keys with pinned algorithms, `exp`,
 * `nbf`, `iss`, `aud` (30 s of clock skew), then the claims the edge relies on.
 *
 * @throws ApiError 401 `invalid_token` with the reason
 */
async function verifyClientToken(token: string, config: EdgeConfig): Promise<ClientPrincipal> {
  let issuer: unknown;
  try {
    issuer = decodeJwt(token).iss;
  } catch (cause) {
    throw unauthorized('the bearer token is not a JWT', cause);
  }
  const verifier = verifierFor(issuer, config);
  if (!verifier) throw unauthorized('the token was not issued by the core or the configured identity provider');
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, verifier.keys, {
      issuer: verifier.issuer,
      audience: config.api.audience,
      algorithms: verifier.algorithms,
      // The one skew: revocations are kept until exp plus the same (relay/revocations.ts).
      clockTolerance: CLOCK_SKEW_SECONDS,
      requiredClaims: ['exp', 'sub'],
    }));
  } catch (cause) {
    const reason = cause instanceof joseErrors.JOSEError ? cause.code : 'ERR_UNKNOWN';
    throw unauthorized(`token rejected (${reason})`, cause);
  }
  const claims = ClientClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized(`token claims are not usable: ${claims.error.issues[0]?.message ?? 'invalid'}`);
  return { ...claims.data, tokenKey: claims.data.jti ?? token.slice(token.lastIndexOf('.') + 1) };
}

/**
 * Accepts only requests with a valid client token that holds `scope`, not revoked and within
 * the user's and the token's rate limits; sets `client`. No or bad token: 401 with
 * `WWW-Authenticate`; missing scope: 403; revoked: 401; too many requests: 429 + Retry-After.
 *
 * @example
 * v1.post('/messages', clientAuth('chat:write'), postMessage);
 */
export function clientAuth(scope: ClientScope): MiddlewareHandler<AppEnv> {
  return async function clientAuthMiddleware(c, next) {
    const token = bearerTokenOf(c.req.raw);
    if (!token) {
      throw new ApiError(401, 'missing_token', 'needs Authorization: Bearer <token> (create one with `npx hearth token issue --user NAME`)', {
        headers: { 'WWW-Authenticate': challenge() },
      });
    }
    const client = await verifyClientToken(token, c.get('config'));
    if (!client.scopes.has(scope)) {
      throw new ApiError(403, 'insufficient_scope', `this route needs the ${scope} scope`, {
        headers: { 'WWW-Authenticate': challenge('insufficient_scope', `needs ${scope}`, scope) },
      });
    }
    const admitted = await relayFor(c.env).admitClient({ user: client.user, tokenKey: client.tokenKey, jti: client.jti });
    if (!admitted.ok) throw refusalError(admitted);
    c.set('client', client);
    await next();
  };
}
