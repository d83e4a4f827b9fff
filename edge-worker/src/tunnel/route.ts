import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import { CORE_ID_HEADER, relayHeaders } from '../relay/internal-headers.js';
import { relayFor } from '../relay/stub.js';

/**
 * `GET /tunnel` (behind `coreAuth('tunnel')`): a core's WebSocket, authenticated by a JWT its
 * own key signed, handed to the Relay, which holds the socket.
 */
export async function tunnelUpgrade(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new HTTPException(426, { message: 'the tunnel is a WebSocket: send Upgrade: websocket' });
  }
  const coreId = c.get('coreId');
  // The core id is set here after the token is verified; the Relay trusts only that.
  const headers = relayHeaders(c.req.raw.headers, { [CORE_ID_HEADER]: coreId });
  log('info', 'tunnel_authenticated', { core_id: coreId });
  return relayFor(c.env).fetch(new Request(c.req.raw.url, { headers }));
}
