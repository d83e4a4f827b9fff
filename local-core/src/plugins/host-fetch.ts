import type { FetchRequest } from './ipc.js';
import { networkAllows } from './manifest.js';

/** Largest response body handed to a plugin; past it the fetch fails (a plugin has no business streaming). */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/** Longest a plugin's fetch may take, whatever its own budget. */
export const MAX_FETCH_MS = 15_000;

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

export interface FetchAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The only way out of a plugin child: a fetch the host makes for it, to a declared host only.
 * Redirects are not followed (a 3xx goes back to the plugin, whose next fetch is checked again),
 * so a declared host cannot bounce it elsewhere. Cookies are never kept.
 *
 * @throws PluginFetchError `refused` for an undeclared host or a non-http(s) URL
 * @example
 * const answer = await hostFetch(['api.example.com'], { url: 'https://api.example.com/x', method: 'GET', headers: {}, body: null }, 5_000);
 */
export async function hostFetch(allowed: readonly string[], request: FetchRequest, timeoutMs: number): Promise<FetchAnswer> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new PluginFetchError('refused', `fetch refused: ${JSON.stringify(request.url.slice(0, 200))} is not an absolute URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new PluginFetchError('refused', `fetch refused: only http and https URLs, not ${url.protocol}`);
  if (url.username || url.password) throw new PluginFetchError('refused', 'fetch refused: credentials in the URL; send them in a header');
  if (!networkAllows(allowed, url)) {
    throw new PluginFetchError('refused', `fetch refused: ${url.host} is not declared in permissions.network (declared: ${allowed.join(', ') || 'none'})`);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== null && request.method !== 'GET' && request.method !== 'HEAD' ? { body: request.body } : {}),
      redirect: 'manual',
      signal: AbortSignal.timeout(Math.min(timeoutMs, MAX_FETCH_MS)),
    });
  } catch (error) {
    throw new PluginFetchError('failed', `fetch of ${url.host} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  const body = await readCapped(response, url.host);
  return { status: response.status, headers: Object.fromEntries(response.headers), body };
}

/** The body as text, refusing (and cancelling) past MAX_RESPONSE_BYTES. */
async function readCapped(response: Response, host: string): Promise<string> {
  if (!response.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new PluginFetchError('too_large', `fetch of ${host}: the response is over ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
