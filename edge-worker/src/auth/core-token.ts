import { type CoreAudience, type VerifiedCoreToken, verifyCoreToken } from '@hearth/shared';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { describeError, log } from '../log.js';
import { bearerOf } from './bearer.js';
import { relayFor } from '../relay/stub.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The core a request was signed by (set by {@link coreAuth}). */
    coreId: string;
  }
}

/**
 * Accepts only requests carrying `Authorization: Bearer <jwt>` signed by the configured core
 * key for `audience`, each token once (its `jti`, recorded by the Relay); sets `coreId`.
 * Missing, bad or replayed: 401 with `WWW-Authenticate`.
 *
 * @example
 * app.get('/admin/dead-letters', coreAuth('admin'), handler);
 */
export function coreAuth(audience: CoreAudience): MiddlewareHandler<AppEnv> {
  const challenge = `Bearer realm="hearth-${audience}"`;
  const unauthorized = (message: string, cause?: unknown) =>
    new HTTPException(401, {
      message,
      cause,
      res: new Response(null, { status: 401, headers: { 'WWW-Authenticate': challenge } }),
    });
  return async function coreAuthMiddleware(c, next) {
    const token = bearerOf(c.req.header('Authorization'));
    if (!token) throw unauthorized(`needs Authorization: Bearer <token signed by the core for ${audience}>`);
    let verified: VerifiedCoreToken;
    try {
      verified = await verifyCoreToken(token, c.get('config').coreKeys, audience);
    } catch (cause) {
      throw unauthorized(cause instanceof Error ? cause.message : 'core token rejected', cause);
    }
    // Only after the signature: nobody without the key can fill the Relay's record.
    const claimed = await relayFor(c.env)
      .claimCoreToken({ jti: verified.jti, acceptedUntil: verified.acceptedUntil })
      .catch((cause: unknown) => {
        log('warn', 'relay_unavailable', { path: c.req.path, error: describeError(cause) });
        throw new HTTPException(503, { message: 'the relay is unavailable, retry later', cause });
      });
    if (!claimed) {
      log('warn', 'core_token_replayed', { core_id: verified.coreId, audience, jti: verified.jti });
      throw unauthorized('core token rejected: already used (each token the core signs opens one connection or request)');
    }
    c.set('coreId', verified.coreId);
    await next();
  };
}
