import { CursorSchema } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { ApiError } from './errors.js';
import { relayClientRequest } from './relay-request.js';

/** The subprotocol a browser client names besides its bearer one; the server selects it. */
const CLIENT_SUBPROTOCOL = 'hearth.v1';

/** Where a stream resumes: `?after=`, else SSE's `Last-Event-ID`; 400 when it is not a cursor. */
function resumeFrom(c: Context<AppEnv>): string {
  const after = c.req.query('after') ?? c.req.header('Last-Event-ID');
  if (after === undefined || after === '') return '';
  if (!CursorSchema.safeParse(after).success) throw new ApiError(400, 'invalid_cursor', 'after is not a cursor this API gave out');
  return `?after=${encodeURIComponent(after)}`;
}

/**
 * `GET /v1/events` (sync): the user's live stream as Server-Sent Events: what they missed after
 * the cursor, `synced`, then every message of any of their devices and every reply as it is
 * written.
 */
export function events(c: Context<AppEnv>): Promise<Response> {
  return relayClientRequest(c, 'client-events', { search: resumeFrom(c) });
}

/**
 * `GET /v1/ws` (sync): the same stream over a WebSocket, which also takes `send` frames
 * (chat:write). Browsers authenticate with the subprotocols `hearth.v1` and `hearth.bearer.<token>`.
 */
export function socket(c: Context<AppEnv>): Promise<Response> {
  if (c.req.header('Upgrade')?.toLowerCase() !== 'websocket') {
    throw new ApiError(426, 'upgrade_required', 'this is a WebSocket: send Upgrade: websocket');
  }
  const offered = (c.req.header('Sec-WebSocket-Protocol') ?? '').split(',').map((p) => p.trim()).filter(Boolean);
  if (offered.length > 0 && !offered.includes(CLIENT_SUBPROTOCOL)) {
    throw new ApiError(400, 'bad_subprotocol', `offer the ${CLIENT_SUBPROTOCOL} subprotocol (with hearth.bearer.<token>)`);
  }
  return relayClientRequest(c, 'client-ws', {
    search: resumeFrom(c),
    headers: { Upgrade: 'websocket', ...(offered.length > 0 ? { 'Sec-WebSocket-Protocol': CLIENT_SUBPROTOCOL } : {}) },
  });
}
