/** The tunnel's WebSocket URL for an edge base URL (`https://edge` → `wss://edge/tunnel`). */
export function tunnelUrl(edgeUrl: string): string {
  const url = new URL('/tunnel', edgeUrl);
  url.protocol = url.protocol === 'https:' || url.protocol === 'wss:' ? 'wss:' : 'ws:';
  return url.toString();
}
