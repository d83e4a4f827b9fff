import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Readable } from 'node:stream';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isPublicAddress, type ResolvedAddress } from '../plugins/address-policy.js';
import type { FetchRequest } from '../plugins/ipc.js';
import { answerHeaders, pluginHeaders, sendPinned } from '../plugins/pinned-request.js';
import { McpRefusal } from './launch.js';

/** Resolves a name to all its addresses (the system's resolver unless a test injects one). */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

/** The system resolver: every address of a name, in its order. */
export const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

const METHODS = new Set<FetchRequest['method']>(['GET', 'POST', 'DELETE']);
const NULL_BODY = new Set([101, 204, 205, 304]);
// The SDK's own fetches (an event stream) may carry no signal: such a request lives until the transport closes it.
const NEVER = new AbortController().signal;

/**
 * The only fetch an HTTP MCP server's transport gets: requests go to the declared URL's origin
 * only (no redirects followed, none elsewhere), its name is resolved once per request, every
 * address must be public unless the entry says `lan`, and the connection goes to exactly those
 * addresses (no DNS rebinding between the check and the connect). The same pinned request as a
 * plugin's fetch.
 *
 * @example
 * new StreamableHTTPClientTransport(url, { fetch: pinnedFetch(url, false) });
 */
export function pinnedFetch(declared: URL, lan: boolean, lookup: HostLookup = systemLookup): FetchLike {
  return async (input, init = {}) => {
    const url = new URL(String(input));
    if (url.origin !== declared.origin) throw new McpRefusal(`refused: ${url.origin} is not the server's declared URL (${declared.origin})`);
    const method = (init.method ?? 'GET').toUpperCase() as FetchRequest['method'];
    if (!METHODS.has(method)) throw new McpRefusal(`refused: method ${method}`);
    if (init.body !== undefined && init.body !== null && typeof init.body !== 'string') throw new McpRefusal('refused: only text request bodies');
    const addresses = await checkedAddresses(url, lan, lookup);
    const headers = pluginHeaders(Object.fromEntries(new Headers(init.headers).entries()));
    const response = await sendPinned({ url, method, headers, body: init.body ?? null }, addresses, init.signal ?? NEVER);
    const status = response.statusCode ?? 502;
    const body = NULL_BODY.has(status) || method === 'HEAD' ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>);
    if (!body) response.destroy();
    return new Response(body, { status, headers: answerHeaders(response) });
  };
}

/** Every address of the URL's host, each public, or any when `lan`. @throws McpRefusal naming the address */
async function checkedAddresses(url: URL, lan: boolean, lookup: HostLookup): Promise<ResolvedAddress[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  const addresses: ResolvedAddress[] = literal ? [{ address: host, family: literal === 6 ? 6 : 4 }] : await lookup(host);
  if (addresses.length === 0) throw new McpRefusal(`${host} resolves to no address`);
  const refused = lan ? undefined : addresses.find(({ address }) => !isPublicAddress(address));
  if (refused) {
    const subject = literal ? refused.address : `${host} resolves to ${refused.address}`;
    throw new McpRefusal(`refused: ${subject}, which is not a public address; set "lan": true on the entry if the server is on this machine or your network`);
  }
  return addresses;
}
