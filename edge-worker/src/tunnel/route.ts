import { verifyTunnelToken } from '@hearth/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import { relayFor } from '../relay/stub.js';

/** Set by this route after the token is verified; the Relay trusts only this, never the client. */
export const CORE_ID_HEADER = 'X-Hearth-Core-Id';

/**
 * `GET /tunnel`: a core opens its WebSocket here with `Authorization: Bearer <jwt>`, the JWT
 * signed by its private key. Verified here, then handed to the Relay, which holds the socket.
 */
export async function tunnelUpgrade(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new HTTPException(426, { message: 'the tunnel is a WebSocket: send Upgrade: websocket' });
  }
  const token = /^Bearer (.+)$/i.exec(c.req.header('Authorization') ?? '')?.[1];
  if (!token) {
    throw new HTTPException(401, {
      message: 'tunnel needs Authorization: Bearer <core token>',
      res: new Response(null, { status: 401, headers: { 'WWW-Authenticate': 'Bearer realm="hearth-tunnel"' } }),
    });
  }
  let coreId: string;
  try {
    ({ coreId } = await verifyTunnelToken(token, c.get('config').coreKeys));
  } catch (cause) {
    throw new HTTPException(401, {
      message: cause instanceof Error ? cause.message : 'tunnel token rejected',
      cause,
    });
  }
  const headers = new Headers(c.req.raw.headers);
  headers.set(CORE_ID_HEADER, coreId);
  log('info', 'tunnel_authenticated', { core_id: coreId });
  return relayFor(c.env).fetch(new Request(c.req.raw.url, { headers }));
}
