import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, validateHeaderName, validateHeaderValue } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './address-policy.js';
import type { FetchRequest } from './ipc.js';

/** Largest response body handed to a plugin; past it the fetch fails (a plugin has no business streaming). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** A fetch the host will not make, or one that failed; `message` is what the plugin (and the log) get. */
export class PluginFetchError extends Error {
  override readonly name = 'PluginFetchError';
  constructor(
    readonly code: 'refused' | 'failed' | 'too_large',
    message: string,
  ) {
    super(message);
  }
}

/** One request of a fetch (the first, or a redirect): its headers are the plugin's, already cleaned. */
export interface Hop {
  url: URL;
  method: FetchRequest['method'];
  headers: ReadonlyMap<string, string>;
  body: string | null;
}

// The connection, its framing and any proxy are the host's business, not the plugin's; and the
// body goes back as text, so no compression is negotiated.
const HOST_CONTROLLED = new Set(['host', 'connection', 'keep-alive', 'transfer-encoding', 'content-length', 'upgrade', 'te', 'trailer', 'expect', 'accept-encoding']);

/**
 * The plugin's request headers it may set, names lower-case, hop-by-hop and proxy ones dropped.
 *
 * @throws PluginFetchError `refused` for a header name or value HTTP does not allow
 */
export function pluginHeaders(headers: Readonly<Record<string, string>>): Map<string, string> {
  const kept = new Map<string, string>();
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (HOST_CONTROLLED.has(lower) || lower.startsWith('proxy-')) continue;
    try {
      validateHeaderName(lower);
      validateHeaderValue(lower, value);
    } catch {
      throw new PluginFetchError('refused', `fetch refused: the header ${JSON.stringify(name.slice(0, 100))} is not a valid HTTP header name and value`);
    }
    kept.set(lower, value);
  }
  return kept;
}

/** What goes on the wire: fetch's defaults, the plugin's headers, then what only the host sets. */
function wireHeaders(hop: Hop): OutgoingHttpHeaders {
  const headers = new Map([['accept', '*/*'], ['user-agent', 'hearth-plugin'], ...hop.headers]);
  // From the URL, whatever the plugin sent: the name that was checked is the name asked for.
  headers.set('host', hop.url.host);
  headers.set('accept-encoding', 'identity');
  if (hop.method !== 'GET' && hop.method !== 'HEAD') headers.set('content-length', String(Buffer.byteLength(hop.body ?? '')));
  return Object.fromEntries(headers);
}

/** A `lookup` for node:net that answers only the addresses already checked: no second DNS query. */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    const fitting = addresses.filter((entry) => (wanted !== 4 && wanted !== 6) || entry.family === wanted);
    const first = fitting[0];
    if (!first) callback(Object.assign(new Error(`no checked IPv${wanted} address`), { code: 'ENOTFOUND' }), []);
    else if (options.all) callback(null, fitting.map(({ address, family }) => ({ address, family })));
    else callback(null, first.address, first.family);
  };
}

/** The `failed` error for a request or answer that broke, saying so when it ran out of time. */
function failure(url: URL, error: unknown, signal: AbortSignal): PluginFetchError {
  const cause = signal.aborted ? signal.reason : error;
  return new PluginFetchError('failed', `fetch of ${url.host} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
}

/**
 * Sends one hop to exactly `addresses` (checked by the caller): TLS still verifies the
 * certificate against the URL's name, which is also the SNI. A fresh connection every time, so
 * no socket checked under another plugin's grants is reused.
 *
 * @throws PluginFetchError `failed` when the connection or the request fails or times out
 */
export function sendPinned(hop: Hop, addresses: readonly ResolvedAddress[], signal: AbortSignal): Promise<IncomingMessage> {
  const tls = hop.url.protocol === 'https:';
  const request = tls ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    try {
      const req = request(
        {
          hostname: hop.url.hostname.replace(/^\[|\]$/g, ''),
          port: Number(hop.url.port || (tls ? 443 : 80)),
          path: `${hop.url.pathname}${hop.url.search}`,
          method: hop.method,
          headers: wireHeaders(hop),
          agent: false,
          lookup: pinnedLookup(addresses),
          signal,
        },
        resolve,
      );
      req.on('error', (error) => reject(failure(hop.url, error, signal)));
      req.end(hop.body ?? undefined);
    } catch (error) {
      reject(failure(hop.url, error, signal));
    }
  });
}

/**
 * The body as text, refusing (and closing the connection) past MAX_RESPONSE_BYTES.
 *
 * @throws PluginFetchError `too_large` past the cap, `failed` when the answer breaks off
 */
export function readCapped(response: IncomingMessage, hop: Hop, signal: AbortSignal): Promise<string> {
  const url = hop.url;
  const tooLarge = () => new PluginFetchError('too_large', `fetch of ${url.host}: the response is over ${MAX_RESPONSE_BYTES} bytes`);
  // Announced too large: refused before a byte is read (a HEAD, 204 or 304 announces a body it does not carry).
  const bodyless = hop.method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304;
  if (!bodyless && Number(response.headers['content-length']) > MAX_RESPONSE_BYTES) {
    response.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy();
        reject(tooLarge());
      } else chunks.push(chunk);
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', (error) => reject(failure(url, error, signal)));
    response.on('close', () => {
      if (!response.complete) reject(failure(url, new Error('the connection closed before the whole answer came'), signal));
    });
  });
}

/** Response headers as the plugin gets them: lower-case names, repeated ones joined with ", ". */
export function answerHeaders(response: IncomingMessage): Record<string, string> {
  const headers = new Map<string, string>();
  const raw = response.rawHeaders;
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = (raw[index] ?? '').toLowerCase();
    const value = raw[index + 1] ?? '';
    const seen = headers.get(name);
    headers.set(name, seen === undefined ? value : `${seen}, ${value}`);
  }
  return Object.fromEntries(headers);
}
