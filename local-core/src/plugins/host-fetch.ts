import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type LanGrant, lanAllows, type NetworkPermissions, parseLanGrants, type ResolvedAddress, refusedAddress } from './address-policy.js';
import type { FetchRequest } from './ipc.js';
import { networkAllows } from './manifest.js';
import { answerHeaders, type Hop, PluginFetchError, pluginHeaders, readCapped, sendPinned } from './pinned-request.js';

export type { NetworkPermissions, ResolvedAddress } from './address-policy.js';
export { MAX_RESPONSE_BYTES, PluginFetchError } from './pinned-request.js';

/** Longest a plugin's fetch may take, redirects included, whatever its own budget. */
const MAX_FETCH_MS = 15_000;
/** Redirects the host follows for a plugin; one more fails the fetch. */
const MAX_REDIRECTS = 5;

/** Resolves a name to all its addresses (the system's resolver unless a test injects one). */
export type HostLookup = (host: string) => Promise<ResolvedAddress[]>;

export interface HostFetchOptions {
  lookup?: HostLookup;
}

export interface FetchAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// A plugin's credentials for one origin are not handed to the next one a redirect names.
const CREDENTIAL_HEADERS = ['authorization', 'cookie'];

interface Policy {
  permissions: NetworkPermissions;
  grants: LanGrant[];
  lookup: HostLookup;
  signal: AbortSignal;
}

const systemLookup: HostLookup = async (host) =>
  (await dnsLookup(host, { all: true, verbatim: true })).map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));

/**
 * The only way out of a plugin child: a fetch the host makes for it. Each hop (the URL, then
 * every redirect, at most MAX_REDIRECTS) must name a host `permissions.network` declares or an
 * IP literal `permissions.lan` grants; the name is resolved once, every address must be public
 * or granted in `lan`, and the connection goes to those addresses only (no DNS rebinding).
 * Cookies are never kept.
 *
 * @throws PluginFetchError `refused` for an undeclared host, a non-public address not granted, a non-http(s) URL;
 *   `failed` when the network fails, it times out or redirects too often; `too_large` past MAX_RESPONSE_BYTES
 * @example
 * const answer = await hostFetch({ network: ['api.example.com'], lan: [] }, { url: 'https://api.example.com/x', method: 'GET', headers: {}, body: null }, 5_000);
 */
export async function hostFetch(permissions: NetworkPermissions, request: FetchRequest, timeoutMs: number, options: HostFetchOptions = {}): Promise<FetchAnswer> {
  const policy: Policy = {
    permissions,
    grants: parseLanGrants(permissions.lan),
    lookup: options.lookup ?? systemLookup,
    signal: AbortSignal.timeout(Math.min(timeoutMs, MAX_FETCH_MS)),
  };
  const body = request.method === 'GET' || request.method === 'HEAD' ? null : request.body;
  let hop: Hop = { url: checkedUrl(request.url, undefined, ''), method: request.method, headers: pluginHeaders(request.headers), body };
  for (let redirects = 0; ; redirects++) {
    const addresses = await checkedAddresses(hop.url, policy, redirects === 0 ? '' : `redirect ${redirects} to ${hop.url.origin}: `);
    const response = await sendPinned(hop, addresses, policy.signal);
    const status = response.statusCode ?? 0;
    const location = REDIRECT_STATUSES.has(status) ? response.headers.location : undefined;
    if (location === undefined) return { status, headers: answerHeaders(response), body: await readCapped(response, hop, policy.signal) };
    response.destroy();
    if (redirects === MAX_REDIRECTS) throw new PluginFetchError('failed', `fetch of ${hop.url.host} failed: too many redirects (more than ${MAX_REDIRECTS})`);
    hop = redirected(hop, status, location, `redirect ${redirects + 1}: `);
  }
}

/**
 * `text` (relative to `base` for a redirect) as an http(s) URL without credentials.
 *
 * @throws PluginFetchError `refused` otherwise, prefixed with `where` (which hop)
 */
function checkedUrl(text: string, base: URL | undefined, where: string): URL {
  const refuse = (why: string) => new PluginFetchError('refused', `fetch refused: ${where}${why}`);
  let url: URL;
  try {
    url = new URL(text, base);
  } catch {
    throw refuse(`${JSON.stringify(text.slice(0, 200))} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`only http and https URLs, not ${url.protocol}`);
  if (url.username || url.password) throw refuse('credentials in the URL; send them in a header');
  return url;
}

/** The hop a redirect asks for: 303 (and 301/302 after a POST) become a GET without body. */
function redirected(hop: Hop, status: number, location: string, where: string): Hop {
  const url = checkedUrl(location, hop.url, where);
  const toGet = (status === 303 && hop.method !== 'HEAD') || ((status === 301 || status === 302) && hop.method === 'POST');
  const headers = new Map(hop.headers);
  if (toGet) headers.delete('content-type');
  if (url.origin !== hop.url.origin) for (const name of CREDENTIAL_HEADERS) headers.delete(name);
  return { url, method: toGet ? 'GET' : hop.method, headers, body: toGet ? null : hop.body };
}

const bare = (hostname: string): string => hostname.replace(/^\[|\]$/g, '');
const portOf = (url: URL): number => Number(url.port || (url.protocol === 'https:' ? 443 : 80));

/**
 * The addresses one hop may connect to: its host declared (by name in `network`, or an IP
 * literal granted in `lan`), resolved once, every address public or granted on the port.
 *
 * @throws PluginFetchError `refused` naming the host, the address, why and how to grant it; `failed` when the name does not resolve
 */
async function checkedAddresses(url: URL, policy: Policy, where: string): Promise<ResolvedAddress[]> {
  const host = bare(url.hostname);
  const port = portOf(url);
  const literal = isIP(host);
  if (!networkAllows(policy.permissions.network, url) && !(literal && lanAllows(policy.grants, host, port))) {
    throw new PluginFetchError('refused', `fetch refused: ${where}${undeclared(url, policy.permissions, literal !== 0)}`);
  }
  const addresses = literal ? [{ address: host, family: literal === 6 ? 6 : 4 } as const] : await resolved(url, host, policy);
  const refusal = refusedAddress(host, addresses, port, policy.grants);
  if (refusal) throw new PluginFetchError('refused', `fetch refused: ${where}${refusal}`);
  return addresses;
}

/** "127.0.0.1:8080 is not declared in permissions.network (declared: ...)", with the lan grants for an IP. */
function undeclared(url: URL, permissions: NetworkPermissions, literal: boolean): string {
  const lan = literal ? ` nor granted in permissions.lan (granted: ${permissions.lan.join(', ') || 'none'})` : '';
  return `${url.host} is not declared in permissions.network (declared: ${permissions.network.join(', ') || 'none'})${lan}`;
}

/** Every address of `host`, looked up once for this hop; each one an IP of the family it claims. */
async function resolved(url: URL, host: string, policy: Policy): Promise<ResolvedAddress[]> {
  let answer: ResolvedAddress[];
  try {
    answer = await abortable(policy.lookup(host), policy.signal);
  } catch (error) {
    const cause = policy.signal.aborted ? policy.signal.reason : error;
    throw new PluginFetchError('failed', `fetch of ${url.host} failed: ${host} does not resolve (${cause instanceof Error ? cause.message : String(cause)})`);
  }
  const addresses = answer.map(({ address }) => ({ address, family: isIP(address) }));
  if (addresses.length === 0 || addresses.some((entry) => entry.family === 0)) {
    throw new PluginFetchError('failed', `fetch of ${url.host} failed: ${host} resolves to no usable address`);
  }
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
}

/** `promise`, or the signal's reason once it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
