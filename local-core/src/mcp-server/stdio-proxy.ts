import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { VERSION } from '../version.js';

/** A tool call may wait this long: the edge's own limit on a reply (HEARTH_COMPLETION_TIMEOUT_MS, 120 s) and a margin. */
const CALL_TIMEOUT_MS = 150_000;

export interface StdioProxyOptions {
  /** The edge's base URL (HEARTH_EDGE_URL): its `/mcp` serves the tools. */
  edgeUrl: string;
  /** A bearer token with the `mcp` scope, fresh for each request. */
  token: () => Promise<string>;
  /** Where MCP messages flow; the process's stdin/stdout by default. */
  transport?: StdioServerTransport;
}

/**
 * `hearth mcp serve`: Hearth's tools for a local agent over stdio, by passing its requests on
 * to the edge's `/mcp` as an API client. One set of tools (the edge's) and one path to the
 * assistant (the queue and the tunnel, with history kept as for any device), so a local
 * agent sees exactly what a remote one sees. Resolves once both ends are connected.
 *
 * @example
 * const proxy = await serveMcpOverStdio({ edgeUrl, token: ownerMcpTokens(config, 'owner') });
 * await proxy.closed;
 */
export async function serveMcpOverStdio(options: StdioProxyOptions): Promise<{ closed: Promise<void>; close: () => Promise<void> }> {
  const withToken: typeof fetch = async (url, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${await options.token()}`);
    return fetch(url, { ...init, headers });
  };
  const client = new Client({ name: 'hearth-mcp-serve', version: VERSION });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', options.edgeUrl), { fetch: withToken }));
  const remote = client.getServerVersion();
  const server = new Server(
    { name: remote?.name ?? 'hearth', version: remote?.version ?? VERSION },
    { capabilities: { tools: {} }, ...(client.getInstructions() ? { instructions: client.getInstructions() } : {}) },
  );
  server.setRequestHandler(ListToolsRequestSchema, (request) => client.listTools(request.params));
  server.setRequestHandler(CallToolRequestSchema, (request) => client.callTool(request.params, undefined, { timeout: CALL_TIMEOUT_MS }));
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= Promise.all([server.close(), client.close()]).then(() => undefined);
    return closing;
  };
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => {
      void close().then(resolve);
    };
  });
  await server.connect(options.transport ?? new StdioServerTransport());
  return { closed, close };
}
