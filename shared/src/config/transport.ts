/**
 * Which URLs may carry Hearth's traffic in the clear: only loopback ones (a local edge, a test
 * identity provider). Anything else crosses a network, where plain text is readable and forgeable.
 */

/** `localhost`, 127.0.0.0/8 and ::1, with or without brackets. */
export function isLoopbackHost(hostname: string): boolean {
  const bare = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return bare === 'localhost' || bare === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/** An `http:` or `ws:` URL to a host that is not loopback. */
export function isPlainTextOffLoopback(url: URL): boolean {
  return (url.protocol === 'http:' || url.protocol === 'ws:') && !isLoopbackHost(url.hostname);
}
