import { lookup as dnsLookup } from 'node:dns/promises';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { addressRange, lanAllows, parseLanGrants } from '../../src/plugins/address-policy.js';
import { type HostFetchOptions, hostFetch, MAX_RESPONSE_BYTES, type NetworkPermissions } from '../../src/plugins/host-fetch.js';
import type { FetchRequest } from '../../src/plugins/ipc.js';

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real server on 127.0.0.1 that records the connections it accepts and the requests it gets. */
interface TestServer {
  port: number;
  base: string;
  connections: number;
  requests: Seen[];
}

const servers: { close(): void; closeAllConnections(): void }[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, seen: TestServer) => void = (_req, res) => res.end('hello')): Promise<TestServer> {
  const state: TestServer = { port: 0, base: '', connections: 0, requests: [] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res, state);
    });
  });
  server.on('connection', () => state.connections++);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as { port: number }).port;
  state.base = `http://127.0.0.1:${state.port}`;
  return state;
}

const get = (url: string, extra: Partial<FetchRequest> = {}): FetchRequest => ({ url, method: 'GET', headers: {}, body: null, ...extra });
const allow = (network: string[], lan: string[] = []): NetworkPermissions => ({ network, lan });
const answering = (...answers: string[]): HostFetchOptions['lookup'] => async () => answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
const redirectTo = (location: string, status = 302) => (_req: IncomingMessage, res: ServerResponse) => res.writeHead(status, { location }).end();

describe('hostFetch: where a declared name really points', () => {
  it.each([
    ['127.0.0.1', 'a loopback address'],
    ['10.0.0.5', 'a private (RFC 1918) address'],
    ['169.254.169.254', 'a link-local address (the local link, or a cloud metadata service)'],
    ['::1', 'a loopback address'],
    ['::ffff:127.0.0.1', 'a loopback address'],
    ['100.64.1.1', 'a carrier-grade NAT address'],
    ['fd00::1', 'a unique-local IPv6 address'],
  ])('refuses a declared name resolving to %s (%s), and nothing reaches the wire', async (address, what) => {
    const server = await serve();
    const fetching = hostFetch(allow([`api.example.test:${server.port}`]), get(`http://api.example.test:${server.port}/`), 5_000, { lookup: answering(address) });
    await expect(fetching).rejects.toMatchObject({ code: 'refused', message: expect.stringContaining(`fetch refused: api.example.test resolves to ${address}`) });
    await expect(fetching).rejects.toThrow(what);
    await expect(fetching).rejects.toThrow(/; grant it in permissions\.lan \("[^"]+:\d+"\) if the plugin must reach it$/);
    expect(server.connections).toBe(0);
  });

  it('says what, why and how to grant it', async () => {
    const fetching = hostFetch(allow(['api.example.com:8080']), get('http://api.example.com:8080/'), 5_000, { lookup: answering('127.0.0.1') });
    await expect(fetching).rejects.toThrow(
      'fetch refused: api.example.com resolves to 127.0.0.1, a loopback address (this machine); grant it in permissions.lan ("127.0.0.1:8080") if the plugin must reach it',
    );
    await expect(hostFetch(allow(['v6.example.com']), get('http://v6.example.com/'), 5_000, { lookup: answering('::ffff:10.1.2.3') })).rejects.toThrow(
      'resolves to ::ffff:10.1.2.3 (IPv4-mapped 10.1.2.3), a private (RFC 1918) address; grant it in permissions.lan ("10.1.2.3:80")',
    );
  });

  it('refuses a DNS answer that mixes public and private addresses', async () => {
    const fetching = hostFetch(allow(['mixed.example.com']), get('https://mixed.example.com/'), 5_000, { lookup: answering('93.184.216.34', '10.0.0.5') });
    await expect(fetching).rejects.toMatchObject({ code: 'refused', message: expect.stringContaining('resolves to 10.0.0.5, a private (RFC 1918) address (one of the 2 addresses') });
  });

  it('refuses localhost:PORT declared in network but not granted in lan (the real resolver)', async () => {
    const server = await serve();
    const fetching = hostFetch(allow([`localhost:${server.port}`]), get(`http://localhost:${server.port}/`), 5_000);
    await expect(fetching).rejects.toMatchObject({ code: 'refused', message: expect.stringMatching(/^fetch refused: localhost resolves to .*a loopback address/) });
    expect(server.connections).toBe(0);
  });

  it('reaches localhost:PORT once lan grants what localhost is', async () => {
    const server = await serve();
    // Granted as the machine resolves it: 127.0.0.1 here, ::1 as well on some systems.
    const lan = (await dnsLookup('localhost', { all: true })).map(({ address, family }) => (family === 6 ? `[${address}]:${server.port}` : `${address}:${server.port}`));
    expect(lan).toContain(`127.0.0.1:${server.port}`);
    const answer = await hostFetch(allow([`localhost:${server.port}`], lan), get(`http://localhost:${server.port}/x`), 5_000);
    expect(answer).toMatchObject({ status: 200, body: 'hello' });
    expect(server.requests[0]?.headers.host).toBe(`localhost:${server.port}`);
  });

  it('reaches an IP literal lan grants without a network entry; an ungranted one is undeclared', async () => {
    const server = await serve();
    expect(await hostFetch(allow([], [`127.0.0.1:${server.port}`]), get(`${server.base}/`), 5_000)).toMatchObject({ status: 200, body: 'hello' });
    await expect(hostFetch(allow([], []), get(`${server.base}/`), 5_000)).rejects.toThrow(
      `fetch refused: 127.0.0.1:${server.port} is not declared in permissions.network (declared: none) nor granted in permissions.lan (granted: none)`,
    );
    expect(server.connections).toBe(1);
  });

  it('reaches a range a CIDR grant covers on its port, and nothing on another port', async () => {
    const server = await serve();
    expect(await hostFetch(allow([], [`127.0.0.0/8:${server.port}`]), get(`${server.base}/`), 5_000)).toMatchObject({ body: 'hello' });
    await expect(hostFetch(allow([`127.0.0.1:${server.port}`], [`127.0.0.0/8:${server.port + 1}`]), get(`${server.base}/`), 5_000)).rejects.toThrow(
      `fetch refused: 127.0.0.1 is a loopback address (this machine); grant it in permissions.lan ("127.0.0.1:${server.port}")`,
    );
    expect(server.connections).toBe(1);
  });

  it('resolves once per hop and connects to the address it checked (no DNS rebinding)', async () => {
    const server = await serve((req, res) => (req.url === '/first' ? redirectTo('/second')(req, res) : res.end('checked')));
    const name = `rebind.example.test:${server.port}`;
    let calls = 0;
    // A hostile resolver: loopback (granted) when checked, elsewhere on any later query.
    const lookup = vi.fn(async () => [{ address: calls++ === 0 ? '127.0.0.1' : '203.0.113.9', family: 4 as const }]);
    const permissions = allow([name], [`127.0.0.1:${server.port}`]);
    expect(await hostFetch(permissions, get(`http://${name}/second`, { headers: { Host: 'evil.example.com' } }), 5_000, { lookup })).toMatchObject({ body: 'checked' });
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(lookup).toHaveBeenCalledWith('rebind.example.test');
    expect(server.requests[0]?.headers.host).toBe(name);
    // Two hops, two lookups: each one answered loopback, each one checked.
    const twice = vi.fn(answering('127.0.0.1'));
    expect(await hostFetch(permissions, get(`http://${name}/first`), 5_000, { lookup: twice })).toMatchObject({ body: 'checked' });
    expect(twice).toHaveBeenCalledTimes(2);
    expect(server.connections).toBe(3);
  });
});

describe('hostFetch: the request and the answer', () => {
  it('sends the method, headers and body, but not the host-controlled headers; joins repeated answer headers', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('X-Many', ['a', 'b']);
      res.writeHead(201, { 'Content-Type': 'text/plain' }).end('made');
    });
    const headers = { Authorization: 'Bearer t', Host: 'elsewhere.example', Connection: 'upgrade', Upgrade: 'websocket', 'Proxy-Authorization': 'x', 'Transfer-Encoding': 'chunked', 'Content-Length': '999' };
    const answer = await hostFetch(allow([], [`127.0.0.1:${server.port}`]), get(`${server.base}/p?q=1`, { method: 'POST', headers, body: 'payload' }), 5_000);
    expect(answer).toEqual({ status: 201, headers: expect.objectContaining({ 'x-many': 'a, b', 'content-type': 'text/plain' }), body: 'made' });
    const seen = server.requests[0];
    expect(seen).toMatchObject({ method: 'POST', path: '/p?q=1', body: 'payload' });
    expect(seen?.headers).toMatchObject({ authorization: 'Bearer t', host: `127.0.0.1:${server.port}`, 'content-length': '7' });
    expect(seen?.headers).not.toHaveProperty('upgrade');
    expect(seen?.headers).not.toHaveProperty('proxy-authorization');
    expect(seen?.headers).not.toHaveProperty('transfer-encoding');
  });

  it('sends no body with GET, and refuses URLs that are not plain http(s)', async () => {
    const server = await serve();
    await hostFetch(allow([], [`127.0.0.1:${server.port}`]), get(`${server.base}/`, { body: 'ignored' }), 5_000);
    expect(server.requests[0]).toMatchObject({ method: 'GET', body: '' });
    await expect(hostFetch(allow([]), get('file:///etc/passwd'), 5_000)).rejects.toMatchObject({ code: 'refused', message: 'fetch refused: only http and https URLs, not file:' });
    await expect(hostFetch(allow([], [`127.0.0.1:${server.port}`]), get(`http://u:p@127.0.0.1:${server.port}/`), 5_000)).rejects.toThrow('credentials in the URL');
  });

  it('refuses an answer over the cap, announced or streamed', async () => {
    const big = 'x'.repeat(MAX_RESPONSE_BYTES + 1);
    const server = await serve((req, res) => {
      if (req.url === '/chunked') {
        res.write(big.slice(0, MAX_RESPONSE_BYTES));
        res.end('yy');
      } else res.end(big);
    });
    const permissions = allow([], [`127.0.0.1:${server.port}`]);
    for (const path of ['/announced', '/chunked']) {
      await expect(hostFetch(permissions, get(`${server.base}${path}`), 5_000)).rejects.toMatchObject({ code: 'too_large' });
    }
    const exact = await serve((_req, res) => res.end('x'.repeat(MAX_RESPONSE_BYTES)));
    expect((await hostFetch(allow([], [`127.0.0.1:${exact.port}`]), get(`${exact.base}/`), 5_000)).body).toHaveLength(MAX_RESPONSE_BYTES);
    // A HEAD announces the size of a body it does not carry.
    expect(await hostFetch(permissions, get(`${server.base}/announced`, { method: 'HEAD' }), 5_000)).toMatchObject({ status: 200, body: '' });
  });

  it('fails past its time', async () => {
    const server = await serve(() => {});
    await expect(hostFetch(allow([], [`127.0.0.1:${server.port}`]), get(`${server.base}/`), 200)).rejects.toMatchObject({ code: 'failed' });
  });
});

describe('hostFetch: redirects, checked hop by hop', () => {
  it('refuses a redirect to a loopback port lan does not grant, and names that hop', async () => {
    const target = await serve();
    const start = await serve(redirectTo(`${target.base}/secret`));
    const fetching = hostFetch(allow([`127.0.0.1:${target.port}`], [`127.0.0.1:${start.port}`]), get(`${start.base}/`), 5_000);
    await expect(fetching).rejects.toMatchObject({ code: 'refused', message: expect.stringContaining(`fetch refused: redirect 1 to ${target.base}: 127.0.0.1 is a loopback address`) });
    expect(target.connections).toBe(0);
    const undeclared = hostFetch(allow([], [`127.0.0.1:${start.port}`]), get(`${start.base}/`), 5_000);
    await expect(undeclared).rejects.toThrow(`fetch refused: redirect 1 to ${target.base}: 127.0.0.1:${target.port} is not declared`);
    expect(target.connections).toBe(0);
  });

  it('follows a redirect to a granted place, without the credentials of the first origin', async () => {
    const target = await serve((_req, res) => res.end('moved here'));
    const start = await serve(redirectTo(`${target.base}/there`, 301));
    const answer = await hostFetch(allow([], [`127.0.0.1:${start.port}`, `127.0.0.1:${target.port}`]), get(`${start.base}/`, { headers: { authorization: 'Bearer t', 'x-keep': '1' } }), 5_000);
    expect(answer).toMatchObject({ status: 200, body: 'moved here' });
    expect(target.requests[0]?.headers).toMatchObject({ 'x-keep': '1' });
    expect(target.requests[0]?.headers).not.toHaveProperty('authorization');
  });

  it('turns a POST into a GET without body on 303, keeps it on 307', async () => {
    const server = await serve((req, res) => {
      if (req.url === '/see-other') redirectTo('/done', 303)(req, res);
      else if (req.url === '/temporary') redirectTo('/done', 307)(req, res);
      else res.end('done');
    });
    const permissions = allow([], [`127.0.0.1:${server.port}`]);
    const post = (path: string) => get(`${server.base}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'form' });
    await hostFetch(permissions, post('/see-other'), 5_000);
    expect(server.requests[1]).toMatchObject({ method: 'GET', path: '/done', body: '' });
    expect(server.requests[1]?.headers).not.toHaveProperty('content-type');
    await hostFetch(permissions, post('/temporary'), 5_000);
    expect(server.requests[3]).toMatchObject({ method: 'POST', path: '/done', body: 'form' });
  });

  it('follows 5 redirects and fails on the 6th', async () => {
    const server = await serve((req, res) => {
      const left = Number(req.url?.slice(1));
      if (left > 0) redirectTo(`/${left - 1}`, 308)(req, res);
      else res.end('arrived');
    });
    const permissions = allow([], [`127.0.0.1:${server.port}`]);
    expect(await hostFetch(permissions, get(`${server.base}/5`), 5_000)).toMatchObject({ body: 'arrived' });
    await expect(hostFetch(permissions, get(`${server.base}/6`), 5_000)).rejects.toMatchObject({ code: 'failed', message: expect.stringContaining('too many redirects') });
  });
});

describe('address policy', () => {
  it.each([
    ['8.8.8.8', 'unicast'],
    ['2606:4700::1111', 'unicast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['64:ff9b::7f00:1', 'rfc6052'],
    ['2002:7f00:1::', '6to4'],
    ['2001::1', 'teredo'],
    ['::7f00:1', 'reserved'],
    ['0.0.0.0', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'],
    ['fe80::1', 'linkLocal'],
  ])('reads %s as %s (only unicast is public)', (address, range) => {
    expect(addressRange(address)).toBe(range);
  });

  it('matches lan grants by address or range and port, IPv4-mapped as IPv4', () => {
    const grants = parseLanGrants(['[fd00::/64]:80', '192.168.1.20:8123', '[::ffff:10.0.0.7]:443']);
    expect(lanAllows(grants, 'fd00::5', 80)).toBe(true);
    expect(lanAllows(grants, 'fd00::5', 81)).toBe(false);
    expect(lanAllows(grants, 'fd00:0:0:1::5', 80)).toBe(false);
    expect(lanAllows(grants, '::ffff:192.168.1.20', 8123)).toBe(true);
    expect(lanAllows(grants, '192.168.1.21', 8123)).toBe(false);
    expect(lanAllows(grants, '10.0.0.7', 443)).toBe(true);
  });
});
