/**
 * Headers the Relay trusts because only this worker sets them. Every request the worker passes
 * on is built by `relayHeaders`, which drops whatever `X-Hearth-*` header a caller sent first.
 */

/** Which of its jobs a request from the worker is for (the tunnel when absent). */
export const RELAY_ROUTE_HEADER = 'X-Hearth-Relay-Route';
/** The API client a request is from, as the worker verified it (JSON of a Subscriber). */
export const CLIENT_HEADER = 'X-Hearth-Client';
/** The core a tunnel upgrade is from, as the worker verified its token. */
export const CORE_ID_HEADER = 'X-Hearth-Core-Id';

export type RelayRoute = 'client-ws' | 'client-events' | 'completion';

const INTERNAL_PREFIX = 'x-hearth-';

/** `from` without any internal header, with `trusted` set: the only way headers reach the Relay. */
export function relayHeaders(from: HeadersInit, trusted: Record<string, string>): Headers {
  const headers = new Headers(from);
  for (const name of [...headers.keys()]) if (name.startsWith(INTERNAL_PREFIX)) headers.delete(name);
  for (const [name, value] of Object.entries(trusted)) headers.set(name, value);
  return headers;
}
