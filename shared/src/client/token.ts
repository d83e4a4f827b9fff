import { SignJWT } from 'jose';
import { z } from 'zod';
import { HearthError } from '../errors.js';
import { SIGNING_ALG, importCoreKey, keyFor, type CoreKeySet } from '../crypto/core-keys.js';
import { CORE_AUDIENCE } from '../crypto/tunnel-token.js';
import { ApiUserIdSchema } from './ids.js';

/**
 * Client tokens: what phones, browsers and tools present to the edge's `/v1` routes
 * (`Authorization: Bearer …`, or as the OpenAI API key). The core issues them (`hearth token
 * issue`), signed with its own key for the `hearth:api` audience, so no other credential has to
 * exist; a deployment may also trust its identity provider's JWKS (edge configuration).
 *
 * Scopes gate routes: `chat:write` (send), `chat:read` (history, models), `sync` (the live
 * stream and catch-up across devices), `admin` (the edge's status), `mcp` (Hearth's MCP
 * server at `/mcp`: ask, history and note search for another agent; never granted by default).
 */
export const ClientScopeSchema = z.enum(['chat:write', 'chat:read', 'sync', 'admin', 'mcp']);
export type ClientScope = z.infer<typeof ClientScopeSchema>;
export const CLIENT_SCOPES = ClientScopeSchema.options;
/** What `hearth token issue` grants unless told otherwise. */
export const DEFAULT_CLIENT_SCOPES: readonly ClientScope[] = ['chat:read', 'chat:write', 'sync'];

/** `iss` of tokens the core signs; verified against the core's key (HEARTH_CORE_JWKS). */
export const CORE_CLIENT_ISSUER = 'hearth';
/** `aud` of client tokens unless the deployment sets HEARTH_CLIENT_AUDIENCE. */
export const CLIENT_AUDIENCE = 'hearth:api';
export const MAX_CLIENT_TOKEN_TTL_SECONDS = 366 * 86_400;

/**
 * The core's own audiences (tunnel, admin). A client token carrying one would be a core token
 * signed by the same key: anyone holding it could open the tunnel or the admin routes. Refused
 * wherever a client audience is chosen: the edge's HEARTH_CLIENT_AUDIENCE, `hearth token issue
 * --audience`, and signClientToken itself.
 */
export const RESERVED_AUDIENCES: readonly string[] = Object.values(CORE_AUDIENCE);

/** Why `audience` cannot be a client token's, naming where it came from; undefined when it can. */
export function reservedAudienceProblem(audience: string, source: string): string | undefined {
  if (!RESERVED_AUDIENCES.includes(audience)) return undefined;
  return `${source} cannot be ${audience}: ${RESERVED_AUDIENCES.join(' and ')} are reserved for the core's own tokens (a client token for them would open the core's routes); use ${CLIENT_AUDIENCE} or a URL of your own`;
}

/**
 * The claims the edge relies on, after the signature, `exp`, `nbf`, `iss` and `aud` were checked
 * by jose. `scope` is the OAuth space-separated string (RFC 9068); `scp` (an array, as some
 * identity providers write it) is read too. Unknown scopes are ignored, not an error.
 */
export const ClientClaimsSchema = z
  .object({
    sub: ApiUserIdSchema,
    jti: z.string().min(1).max(128).optional(),
    exp: z.number().int(),
    scope: z.string().max(1_000).optional(),
    scp: z.array(z.string().max(64)).max(32).optional(),
  })
  .transform(({ sub, jti, exp, scope, scp }) => ({
    user: sub,
    jti,
    exp,
    scopes: new Set([...(scope?.split(' ') ?? []), ...(scp ?? [])].filter((s): s is ClientScope => ClientScopeSchema.safeParse(s).success)),
  }));
export type ClientClaims = z.infer<typeof ClientClaimsSchema>;

export interface IssueClientToken {
  user: string;
  scopes: readonly ClientScope[];
  ttlSeconds: number;
  /** Defaults to {@link CLIENT_AUDIENCE}; must match the edge's HEARTH_CLIENT_AUDIENCE. */
  audience?: string;
}

/**
 * Signs a client token with the core key. Returns the token and its id (`jti`), which is what
 * `hearth token revoke` sends to the edge.
 *
 * @throws HearthError `reserved_audience` for one of the core's own audiences
 *
 * @example
 * const { token } = await signClientToken(keySet, { user: 'ada', scopes: ['chat:read'], ttlSeconds: 3600 });
 */
export async function signClientToken(keySet: CoreKeySet, options: IssueClientToken): Promise<{ token: string; jti: string; expiresAt: number }> {
  const user = ApiUserIdSchema.parse(options.user);
  const audience = options.audience ?? CLIENT_AUDIENCE;
  const reserved = reservedAudienceProblem(audience, 'a client token\'s audience');
  if (reserved) throw new HearthError('reserved_audience', reserved);
  const jwk = keyFor(keySet, 'sig');
  const jti = crypto.randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const expiresAt = now + options.ttlSeconds;
  const token = await new SignJWT({ scope: [...new Set(options.scopes)].join(' ') })
    .setProtectedHeader({ alg: SIGNING_ALG, kid: jwk.kid, typ: 'at+jwt' })
    .setIssuer(CORE_CLIENT_ISSUER)
    .setSubject(user)
    .setAudience(audience)
    .setJti(jti)
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(expiresAt)
    .sign(await importCoreKey(jwk));
  return { token, jti, expiresAt };
}
