import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

/** A call a test MCP server received: the tool's name and its arguments. */
export interface ServerCall {
  tool: string;
  args: unknown;
}

/** The stdio server (official SDK) that records its calls in CALLS_FILE: see the script. */
export const NOTES_SERVER = resolve(import.meta.dirname, '../fixtures/mcp/notes-server.mjs');
/** Where the fixture's imports (the SDK, zod) resolve: a sandboxed server is granted it read-only. */
export const NODE_MODULES = resolve(import.meta.dirname, '../../node_modules');

/** The calls the notes server recorded so far (none before its first). */
export async function recordedCalls(file: string): Promise<ServerCall[]> {
  if (!existsSync(file)) return [];
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ServerCall);
}

/**
 * A streamable HTTP MCP server written with the official SDK, on a loopback port (stateless: a
 * server and transport per request), with one read-only tool, `next_event`; it records its calls.
 */
export async function startCalendarServer(): Promise<{ url: string; calls: ServerCall[]; close: () => Promise<void> }> {
  const calls: ServerCall[] = [];
  const http = createServer(async (req, res) => {
    const server = new McpServer({ name: 'e2e-calendar', version: '1.0.0' });
    server.registerTool(
      'next_event',
      { description: 'the next event in the owner’s calendar on a day', inputSchema: { day: z.string() }, annotations: { readOnlyHint: true, openWorldHint: false } },
      ({ day }) => {
        calls.push({ tool: 'next_event', args: { day } });
        return { content: [{ type: 'text', text: `dentist at 10:00 on ${day}` }] };
      },
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
  const { port } = http.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    close: () =>
      new Promise((done) => {
        http.closeAllConnections();
        http.close(() => done());
      }),
  };
}
