import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TurnTool } from '../../src/inference/engine.js';
import { McpConnection } from '../../src/mcp/connection.js';
import type { McpServerEntry } from '../../src/mcp/file.js';
import { McpServers } from '../../src/mcp/servers.js';
import { MAX_RESULT_CHARS } from '../../src/mcp/tools.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { messageIn } from '../plugins/support.js';
import { capturingLogger } from '../support.js';
import { connect, entryOf, fixtureEntry, ref, startHttpServer, until } from './support.js';

const sandboxed = namespaceSupport().ok;
const message = messageIn(90, 'hi');
const logged = (lines: string[], msg: string) => lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.msg === msg);

describe.skipIf(!sandboxed)('a sandboxed stdio MCP server, through the core client', { timeout: 30_000 }, () => {
  const { log, lines } = capturingLogger('debug');
  let servers: McpServers;
  let connection: McpConnection;
  const tool = (name: string): TurnTool => {
    const found = servers.toolsFor(message, new Set()).find((offered) => offered.name === name);
    if (!found) throw new Error(`${name} not offered`);
    return found;
  };

  beforeAll(async () => {
    const entry: McpServerEntry = { ...fixtureEntry('tools-server.mjs', { timeoutMs: 500, approve: { delete_everything: 'never' } }), name: 'tools' };
    servers = McpServers.start([entry], { log, env: {}, namespaces: namespaceSupport, backoff: { baseMs: 20, capMs: 200 } });
    connection = servers.connection('tools') as McpConnection;
    expect(await connection.settled(20_000)).toBe('ready');
  });
  afterAll(() => servers?.dispose());

  it('lists its tools, prefixed with the server name, with their schema and approval marks', () => {
    const offered = servers.toolsFor(message, new Set());
    expect(offered.map((t) => t.name)).toEqual(expect.arrayContaining(['tools__add', 'tools__search_web', 'tools__delete_everything', 'tools__instance']));
    expect(tool('tools__add')).toMatchObject({ description: 'adds two numbers', needsApproval: false, parameters: { type: 'object', properties: { a: { type: 'number' } } } });
    // Open-world needs the owner's yes; destructive would too, but the entry says never.
    expect(tool('tools__search_web').needsApproval).toBe(true);
    expect(tool('tools__delete_everything').needsApproval).toBe(false);
  });

  it('calls a tool and gives the model its text', async () => {
    expect(await tool('tools__add').call({ a: 2, b: 3 })).toBe('5');
  });

  it('gives the model { error } for a failing, invalid, slow or huge call, and goes on working', async () => {
    expect(await tool('tools__fail').call({})).toEqual({ error: 'no such city' });
    expect(await tool('tools__add').call('not an object')).toEqual({ error: 'invalid arguments for tools__add: an object is expected' });
    expect(await tool('tools__add').call({ a: 'two' })).toMatchObject({ error: expect.stringContaining('Input validation error') });
    expect(await tool('tools__slow').call({})).toMatchObject({ error: expect.stringMatching(/tools__slow failed: .*timed out/i) });
    const big = (await tool('tools__big').call({})) as string;
    expect(big.length).toBeLessThan(MAX_RESULT_CHARS + 100);
    expect(big).toMatch(/… \(cut: 83616 more characters\)$/);
    expect(await tool('tools__add').call({ a: 1, b: 1 })).toBe('2');
  });

  it('refreshes its tools on notifications/tools/list_changed', async () => {
    expect(servers.toolsFor(message, new Set()).some((t) => t.name === 'tools__grown')).toBe(false);
    await tool('tools__grow').call({});
    await until(connection, () => connection.tools.some((t) => t.name === 'grown'));
    expect(await tool('tools__grown').call({})).toBe('grown here');
  });

  it('leaves a name a plugin tool has to the plugin', () => {
    expect(servers.toolsFor(message, new Set(['tools__add'])).map((t) => t.name)).not.toContain('tools__add');
    expect(logged(lines, 'MCP tool not offered')).toContainEqual(expect.objectContaining({ tool: 'tools__add', reason: 'a plugin tool has this name; the plugin keeps it' }));
  });

  it('reconnects after the server dies, with a new process, and its stderr reaches the log', async () => {
    const before = await tool('tools__instance').call({});
    const stale = tool('tools__instance');
    await tool('tools__exit').call({});
    await until(connection, () => connection.state === 'down');
    expect(await stale.call({})).toMatchObject({ error: expect.stringContaining('not available now') });
    await until(connection, () => connection.state === 'ready');
    const after = await tool('tools__instance').call({});
    expect(after).toMatch(/^[a-z0-9]+$/);
    expect(after).not.toBe(before);
    expect(logged(lines, 'MCP server stderr').map((line) => line.stderr)).toEqual(expect.arrayContaining(['tools server ready', 'exiting on request']));
  });
});

describe('refusals, each with its reason', { timeout: 30_000 }, () => {
  it('never runs an untrusted stdio server bare where namespaces are unavailable', async () => {
    const { log } = capturingLogger('debug');
    const servers = McpServers.start([{ ...fixtureEntry('tools-server.mjs'), name: 'bare' }], { log, env: {}, namespaces: () => ({ ok: false, reason: 'bubblewrap is not installed (apt install bubblewrap)' }) });
    const connection = servers.connection('bare') as McpConnection;
    expect(await connection.settled(5_000)).toBe('refused');
    expect(connection.problem).toBe(
      'it is not trusted and bubblewrap is not installed (apt install bubblewrap), so it cannot be sandboxed; it is never run bare: install bubblewrap, or mark it "trusted": true if you trust the program',
    );
    expect(servers.toolsFor(message, new Set())).toEqual([]);
    await servers.dispose();
    await servers.dispose();
  });

  it('refuses a server whose variable is not set, and one whose program is missing', async () => {
    const { log } = capturingLogger('debug');
    const unset = connect('unset', fixtureEntry('tools-server.mjs', { trusted: true, env: { API_KEY: ref('MISSING_TOKEN') } }), log);
    expect(await unset.settled(5_000)).toBe('refused');
    expect(unset.problem).toBe(`env API_KEY needs ${ref('MISSING_TOKEN')}, not set in the core's environment`);
    await unset.dispose();
    if (!sandboxed) return;
    const missing = connect('missing', entryOf({ command: 'no-such-program-here' }), log);
    expect(await missing.settled(5_000)).toBe('refused');
    expect(missing.problem).toBe('the program no-such-program-here is not found on PATH (or is not executable)');
    await missing.dispose();
  });
});

describe('an HTTP MCP server (streamable HTTP on loopback)', { timeout: 30_000 }, () => {
  let http: Awaited<ReturnType<typeof startHttpServer>>;
  beforeAll(async () => {
    http = await startHttpServer();
  });
  afterAll(() => http?.close());

  it('is called at its URL with headers filled from the core environment by name', async () => {
    const { log } = capturingLogger('debug');
    const servers = McpServers.start([{ ...entryOf({ url: http.url, lan: true, headers: { Authorization: `Bearer ${ref('WEATHER_TOKEN')}` } }), name: 'weather' }], {
      log,
      env: { WEATHER_TOKEN: 'tok-123' },
      namespaces: namespaceSupport,
    });
    try {
      expect(await servers.connection('weather')?.settled(10_000)).toBe('ready');
      const [weather] = servers.toolsFor(message, new Set());
      expect(weather).toMatchObject({ name: 'weather__weather', needsApproval: true });
      expect(await weather?.call({ city: 'Oslo' })).toBe('sunny in Oslo (auth: Bearer tok-123)');
    } finally {
      await servers.dispose();
    }
  });

  it('gives the model { error } while it is gone, and is dialled again once it is back', async () => {
    const { log } = capturingLogger('debug');
    const first = await startHttpServer();
    const port = Number(new URL(first.url).port);
    const servers = McpServers.start([{ ...entryOf({ url: first.url, lan: true }), name: 'flaky' }], { log, env: {}, namespaces: namespaceSupport, backoff: { baseMs: 20, capMs: 200 } });
    const connection = servers.connection('flaky') as McpConnection;
    try {
      expect(await connection.settled(10_000)).toBe('ready');
      const [weather] = servers.toolsFor(message, new Set());
      await first.close();
      expect(await weather?.call({ city: 'Oslo' })).toMatchObject({ error: expect.stringContaining('flaky__weather failed') });
      await until(connection, () => connection.state === 'down');
      const again = await startHttpServer(port);
      try {
        await until(connection, () => connection.state === 'ready');
        const [back] = servers.toolsFor(message, new Set());
        expect(await back?.call({ city: 'Oslo' })).toBe('sunny in Oslo (auth: none)');
      } finally {
        await servers.dispose();
        await again.close();
      }
    } finally {
      await servers.dispose();
    }
  });

  it('is refused on loopback unless the entry says lan, before any request reaches it', async () => {
    const { log } = capturingLogger('debug');
    const before = http.requests();
    // The file refuses plain http off lan; an https URL naming a loopback address shows the address check itself.
    const loopback = connect('local', entryOf({ url: http.url.replace('http:', 'https:') }), log);
    expect(await loopback.settled(10_000)).toBe('refused');
    expect(loopback.problem).toBe('refused: 127.0.0.1, which is not a public address; set "lan": true on the entry if the server is on this machine or your network');
    await loopback.dispose();
    expect(await problemFor('https://localhost.example/mcp', [{ address: '10.0.0.8', family: 4 }], log)).toBe(
      'refused: localhost.example resolves to 10.0.0.8, which is not a public address; set "lan": true on the entry if the server is on this machine or your network',
    );
    expect(http.requests()).toBe(before);
  });
});

/** What a connection to `url` is refused for, its names resolving to `addresses` (a public name pointing inward). */
async function problemFor(url: string, addresses: { address: string; family: 4 | 6 }[], log: ReturnType<typeof capturingLogger>['log']): Promise<string | undefined> {
  const connection = new McpConnection({ entry: { ...entryOf({ url }), name: 'probe' }, log, env: {}, namespaces: namespaceSupport, lookup: async () => addresses });
  connection.start();
  await connection.settled(10_000);
  const { problem } = connection;
  await connection.dispose();
  return problem;
}
