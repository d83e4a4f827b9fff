import { type CoreAudience, verifyCoreToken } from '@hearth/shared';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** The core a request was signed by (set by {@link coreAuth}). */
    coreId: string;
  }
}

/**
 * Accepts only requests carrying `Authorization: Bearer <jwt>` signed by the configured core
 * key for `audience`; sets `coreId`. Missing or bad: 401 with `WWW-Authenticate`.
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
    const token = /^Bearer (.+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
    if (!token) throw unauthorized(`needs Authorization: Bearer <token signed by the core for ${audience}>`);
    try {
      c.set('coreId', (await verifyCoreToken(token, c.get('config').coreKeys, audience)).coreId);
    } catch (cause) {
      throw unauthorized(cause instanceof Error ? cause.message : 'core token rejected', cause);
    }
    await next();
  };
}
