import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { dirname } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EgressProxy } from '../../src/mcp/egress-proxy.js';
import type { ResolvedAddress } from '../../src/plugins/address-policy.js';
import { parseLanGrants } from '../../src/plugins/address-policy.js';
import { McpServers } from '../../src/mcp/servers.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { messageIn } from '../plugins/support.js';
import { capturingLogger } from '../support.js';
import { fixtureEntry } from './support.js';

/**
 * A sandboxed stdio server's only way out is the core's CONNECT proxy (src/mcp/egress-proxy.ts):
 * a tunnel to a host its entry names, on a granted port, at an address that is public or granted
 * in its `lan`; nothing else. Two loopback "APIs" record every connection: the granted one is
 * reached, the other never is.
 */
class FakeApi {
  connections = 0;
  requests: string[] = [];
  private readonly server: Server = createServer((req, res) => {
    this.requests.push(req.url ?? '');
    res.end('hello');
  });
  constructor() {
    this.server.on('connection', () => {
      this.connections += 1;
    });
  }
  async start(): Promise<number> {
    await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
    return (this.server.address() as AddressInfo).port;
  }
  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((done) => this.server.close(() => done()));
  }
}

const granted = new FakeApi();
const other = new FakeApi();
let grantedPort: number;
let otherPort: number;
beforeAll(async () => {
  grantedPort = await granted.start();
  otherPort = await other.start();
});
afterAll(async () => {
  await granted.stop();
  await other.stop();
});
afterEach(() => {
  for (const api of [granted, other]) {
    api.connections = 0;
    api.requests = [];
  }
});

/** A CONNECT through the proxy's socket, then `GET /hello` in the tunnel when it opens. */
function connectThrough(socketPath: string, target: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const tunnel = request({ socketPath, method: 'CONNECT', path: target });
    tunnel.on('error', reject);
    tunnel.on('connect', (answer, socket: Socket, head: Buffer) => {
      let body = head.toString();
      if (answer.statusCode !== 200) {
        socket.on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: answer.statusCode ?? 0, body: body.trim() }));
        return;
      }
      socket.write(`GET /hello HTTP/1.1\r\nhost: ${target}\r\nconnection: close\r\n\r\n`);
      socket.on('data', (chunk) => (body += chunk)).on('end', () => resolve({ status: 200, body: body.split('\r\n\r\n')[1] ?? '' }));
    });
    tunnel.end();
  });
}

const names: Record<string, ResolvedAddress[]> = {
  'loopback.example': [{ address: '127.0.0.1', family: 4 }],
  'metadata.example': [{ address: '169.254.169.254', family: 4 }],
  'mixed.example': [
    { address: '93.184.216.34', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
};

describe('EgressProxy', () => {
  let proxy: EgressProxy;
  const { log, lines } = capturingLogger('info');
  beforeAll(async () => {
    proxy = await EgressProxy.open({
      server: 'api',
      hosts: [`127.0.0.1:${grantedPort}`, 'loopback.example', 'metadata.example', 'mixed.example'],
      lan: parseLanGrants([`127.0.0.1:${grantedPort}`]),
      log,
      lookup: async (host) => names[host] ?? [],
    });
  });
  afterAll(() => proxy.dispose());

  it('opens a tunnel to a named host on its port, at an address granted in lan', async () => {
    expect(await connectThrough(proxy.socketPath, `127.0.0.1:${grantedPort}`)).toEqual({ status: 200, body: 'hello' });
    expect(granted.requests).toEqual(['/hello']);
    expect(lines.some((line) => line.includes('MCP server egress') && line.includes(`127.0.0.1:${grantedPort}`))).toBe(true);
  });

  it('refuses a host or port the entry does not name, and connects to nothing', async () => {
    const answer = await connectThrough(proxy.socketPath, `127.0.0.1:${otherPort}`);
    expect(answer).toEqual({ status: 403, body: `refused: 127.0.0.1:${otherPort} is not in the server's hosts (127.0.0.1:${grantedPort}, loopback.example, metadata.example, mixed.example)` });
    expect((await connectThrough(proxy.socketPath, 'unlisted.example:443')).status).toBe(403);
    expect(other.connections).toBe(0);
  });

  it('checks the address a name resolves to, not the name: loopback, metadata and a mixed answer are refused', async () => {
    expect(await connectThrough(proxy.socketPath, 'loopback.example:443')).toEqual({
      status: 403,
      body: `refused: loopback.example resolves to 127.0.0.1, a loopback address (this machine); grant it in the server's lan ("127.0.0.1:443") if the server must reach it`,
    });
    expect((await connectThrough(proxy.socketPath, 'metadata.example:80')).body).toContain('169.254.169.254, a link-local address');
    expect((await connectThrough(proxy.socketPath, 'mixed.example:443')).body).toContain('10.0.0.5, a private (RFC 1918) address (one of the 2 addresses');
  });

  it('refuses plain proxying (405) and a CONNECT that names no port (403)', async () => {
    const plain = await new Promise<number>((resolve, reject) => {
      request({ socketPath: proxy.socketPath, path: `http://127.0.0.1:${grantedPort}/hello` }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    expect(plain).toBe(405);
    expect((await connectThrough(proxy.socketPath, '127.0.0.1')).status).toBe(403);
    expect(granted.connections).toBe(0);
  });

  it('removes its socket folder when disposed, once however often it is called', async () => {
    const spare = await EgressProxy.open({ server: 'spare', hosts: [], lan: [], log });
    expect(existsSync(spare.socketPath)).toBe(true);
    await Promise.all([spare.dispose(), spare.dispose()]);
    expect(existsSync(dirname(spare.socketPath))).toBe(false);
  });
});

/** Starts the egress fixture sandboxed with `extra` grants, and calls one of its tools. */
async function withEgressServer<T>(extra: Record<string, unknown>, use: (call: (tool: string, args: Record<string, unknown>) => Promise<unknown>) => Promise<T>): Promise<T> {
  const { log } = capturingLogger('silent');
  const servers = McpServers.start([{ ...fixtureEntry('egress-server.mjs', extra), name: 'web' }], { log, env: {}, namespaces: namespaceSupport });
  try {
    expect(await servers.connection('web')?.settled(20_000)).toBe('ready');
    const tools = servers.toolsFor(messageIn(92, 'hi'), new Set());
    return await use(async (name, args) => {
      const tool = tools.find((candidate) => candidate.name === `web__${name}`);
      if (!tool) throw new Error(`no tool web__${name}`);
      return JSON.parse(String(await tool.call(args)));
    });
  } finally {
    await servers.dispose();
  }
}

describe.skipIf(!namespaceSupport().ok)('a sandboxed stdio server that names hosts', { timeout: 60_000 }, () => {
  it('reaches its granted host through HTTPS_PROXY, and neither another port nor the host directly', async () => {
    await withEgressServer({ hosts: [`127.0.0.1:${grantedPort}`], lan: [`127.0.0.1:${grantedPort}`] }, async (call) => {
      expect(await call('get', { target: `127.0.0.1:${grantedPort}` })).toEqual({ status: 200, body: 'hello' });
      expect(await call('get', { target: `127.0.0.1:${otherPort}` })).toMatchObject({ status: 403 });
      expect(await call('direct', { host: '127.0.0.1', port: grantedPort })).toEqual({ error: expect.stringMatching(/ECONNREFUSED/) });
    });
    expect(granted.requests).toEqual(['/hello']);
    expect(other.connections).toBe(0);
  });

  it('has no way out at all when it names no hosts', async () => {
    await withEgressServer({}, async (call) => {
      expect(await call('get', { target: `127.0.0.1:${grantedPort}` })).toEqual({ error: expect.any(String) });
    });
    expect(granted.connections).toBe(0);
  });
});
