import { createServer, type Server } from 'node:http';
import { resolve } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import { McpConnection } from '../../src/mcp/connection.js';
import { type McpEntry, parseEntry } from '../../src/mcp/file.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import type { Logger } from '../../src/logger.js';

/** `${NAME}`, as the file writes a variable of the core's environment. */
export const ref = (name: string): string => `\${${name}}`;

export const FIXTURES = resolve(import.meta.dirname, 'fixtures');
/** Where the fixtures' imports (the SDK, zod) resolve: a sandboxed server is granted it read-only. */
export const NODE_MODULES = resolve(import.meta.dirname, '../../../node_modules');

/** An entry as the file would hold it, parsed (so defaults apply); throws on a bad one. */
export function entryOf(value: Record<string, unknown>): McpEntry {
  const parsed = parseEntry(value);
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  return parsed.entry;
}

/** A fixture server over stdio: sandboxed with the fixtures and node_modules read-only, unless `trusted`. */
export function fixtureEntry(script: string, extra: Record<string, unknown> = {}): McpEntry {
  const trusted = extra.trusted === true;
  return entryOf({ command: process.execPath, args: [resolve(FIXTURES, script)], ...(trusted ? {} : { folders: [FIXTURES, NODE_MODULES] }), ...extra });
}

/** A connection to `entry`, started, with a quick backoff. */
export function connect(name: string, entry: McpEntry, log: Logger, env: Record<string, string | undefined> = {}): McpConnection {
  const connection = new McpConnection({ entry: { ...entry, name }, log, env, namespaces: namespaceSupport, backoff: { baseMs: 20, capMs: 200 } });
  connection.start();
  return connection;
}

/** Resolves when `predicate` holds, checked on each change of the connection. */
export function until(connection: McpConnection, predicate: () => boolean): Promise<void> {
  return new Promise((done) => {
    const check = () => {
      if (!predicate()) return;
      connection.off('change', check);
      done();
    };
    connection.on('change', check);
    check();
  });
}

/**
 * A streamable HTTP MCP server on a loopback port (stateless: a server and transport per
 * request), with one tool, `weather`, which says which Authorization header it was sent; on
 * `port` when given (a server started again where it was).
 */
export async function startHttpServer(port = 0): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const http: Server = createServer(async (req, res) => {
    requests += 1;
    const server = new McpServer({ name: 'http-test', version: '1.0.0' });
    server.registerTool('weather', { description: 'the weather in a city', inputSchema: { city: z.string() }, annotations: { readOnlyHint: true, openWorldHint: true } }, ({ city }) => ({
      content: [{ type: 'text', text: `sunny in ${city} (auth: ${req.headers.authorization ?? 'none'})` }],
    }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((done) => http.listen(port, '127.0.0.1', done));
  const bound = (http.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${bound}/mcp`,
    requests: () => requests,
    close: () =>
      new Promise((done) => {
        http.closeAllConnections();
        http.close(() => done());
      }),
  };
}
