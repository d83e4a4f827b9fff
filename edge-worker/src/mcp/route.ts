import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { AppEnv } from '../app-env.js';
import { ApiError } from '../api/errors.js';
import { MAX_API_BODY_BYTES } from '../api/routes.js';
import { clientAuth } from '../auth/client-token.js';
import { withConfig } from '../config.js';
import { log } from '../log.js';
import { relayFor } from '../relay/stub.js';
import { HEARTH_TOOLS, hearthMcpServer, unavailableTool } from './tools.js';

/**
 * The owner's tools live at home: they are asked of a core only for a request that lists tools
 * or calls one that is not Hearth's own (initialize, ask, ... cost no round trip).
 */
async function ownerToolsNeeded(request: Request): Promise<{ list: boolean; calls: string[] }> {
  const body: unknown = await request
    .clone()
    .json()
    .catch(() => undefined);
  const messages = (Array.isArray(body) ? body : [body]).filter((m): m is { method?: unknown; params?: { name?: unknown } } => typeof m === 'object' && m !== null);
  const calls = messages.flatMap((m) => (m.method === 'tools/call' && typeof m.params?.name === 'string' && !HEARTH_TOOLS.has(m.params.name) ? [m.params.name] : []));
  return { list: messages.some((m) => m.method === 'tools/list'), calls };
}

/**
 * Hearth as an MCP server, mounted at `/mcp` (streamable HTTP): other agents ask the home
 * assistant, read a conversation and search the notes, with a client token holding the `mcp`
 * scope. Stateless (a Worker keeps no sessions): each POST gets its own server and transport,
 * answered as JSON; there is no standalone SSE stream to GET.
 */
export const mcp = new Hono<AppEnv>();

mcp.use(withConfig);
mcp.use(
  bodyLimit({
    maxSize: MAX_API_BODY_BYTES,
    onError: () => {
      throw new ApiError(413, 'payload_too_large', `body exceeds ${MAX_API_BODY_BYTES} bytes`);
    },
  }),
);

mcp.post('/', clientAuth('mcp'), async (c) => {
  const relay = relayFor(c.env);
  const { user } = c.get('client');
  const needed = await ownerToolsNeeded(c.req.raw);
  const ownerTools = needed.list || needed.calls.length > 0 ? await relay.ownerTools(user) : undefined;
  const server = hearthMcpServer(relay, user, ownerTools);
  if (ownerTools && !ownerTools.ok) {
    // Listing says only Hearth's own tools then; a call of an owner's tool says why it cannot run.
    log('warn', 'mcp_owner_tools_unavailable', { code: ownerTools.code });
    for (const name of needed.calls) unavailableTool(server, name, ownerTools);
  }
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    return await transport.handleRequest(c.req.raw);
  } finally {
    // The JSON answer is complete when handleRequest resolves: nothing of this request lives on.
    await server.close();
  }
});
// Authenticated first, so an agent without a token learns that before the method.
mcp.on(['GET', 'DELETE'], '/', clientAuth('mcp'), () => {
  throw new ApiError(405, 'method_not_allowed', 'this MCP server is stateless: POST JSON-RPC requests to /mcp', { headers: { Allow: 'POST' } });
});
