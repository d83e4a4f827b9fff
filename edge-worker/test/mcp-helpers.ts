import { apiFetch, clientToken, freshUser } from './api-helpers.js';

let ids = 0;
/** One JSON-RPC request to `/mcp`, as a streamable HTTP client sends it. */
export function rpc(token: string | null, method: string, params: Record<string, unknown> = {}): Promise<Response> {
  return apiFetch('/mcp', token, {
    method: 'POST',
    headers: { Accept: 'application/json, text/event-stream', 'MCP-Protocol-Version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++ids, method, params }),
  });
}

/** A `tools/call` result as the SDK's server answers it. */
export interface ToolResult {
  content: { type: string; text: string }[];
  isError?: boolean;
}

/** A client token with the `mcp` scope. */
export const mcpToken = async (user = freshUser('mcp')): Promise<string> => (await clientToken(user, ['mcp'])).token;
