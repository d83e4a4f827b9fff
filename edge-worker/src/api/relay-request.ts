import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { ApiError } from './errors.js';
import type { Subscriber } from '../relay/clients.js';
import { CLIENT_HEADER, RELAY_ROUTE_HEADER, relayHeaders, type RelayRoute } from '../relay/internal-headers.js';
import { relayFor } from '../relay/stub.js';

/** The device a request names itself as (`X-Hearth-Device`), when it is a plain short name. */
export function deviceOf(c: Context<AppEnv>): string | undefined {
  const device = c.req.header('X-Hearth-Device');
  return device && /^[A-Za-z0-9 ._-]{1,64}$/.test(device) ? device : undefined;
}

/** The request's `Idempotency-Key`, if any; 400 when it is not a client id. */
export function idempotencyKeyOf(c: Context<AppEnv>): string | undefined {
  const key = c.req.header('Idempotency-Key');
  if (key !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(key)) {
    throw new ApiError(400, 'invalid_request', 'Idempotency-Key is 1-64 characters of A-Z a-z 0-9 . _ -');
  }
  return key;
}

/** The authenticated client of a `/v1` request, as the Relay's streams know it. */
function subscriberOf(c: Context<AppEnv>): Subscriber {
  const client = c.get('client');
  const device = deviceOf(c);
  return { user: client.user, tokenKey: client.tokenKey, exp: client.exp, canWrite: client.scopes.has('chat:write'), ...(device ? { device } : {}) };
}

/**
 * Passes a client's request to the Relay for one of its streaming jobs. Only these headers
 * reach it: the Relay trusts the client header because nothing but this worker can reach it.
 */
export function relayClientRequest(
  c: Context<AppEnv>,
  route: RelayRoute,
  { search = '', headers = {}, body }: { search?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Response> {
  return relayFor(c.env).fetch(
    new Request(`https://relay/${route}${search}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: relayHeaders(headers, { [RELAY_ROUTE_HEADER]: route, [CLIENT_HEADER]: JSON.stringify(subscriberOf(c)) }),
      ...(body === undefined ? {} : { body }),
    }),
  );
}
