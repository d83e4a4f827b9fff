import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, isIP, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Logger } from '../logger.js';
import { type LanGrant, type ResolvedAddress, refusedAddress } from '../plugins/address-policy.js';
import { networkAllows } from '../plugins/manifest.js';
import { type HostLookup, systemLookup } from './http-fetch.js';

/** Tunnels open at once for one server: a bound on what a hostile one can hold. */
const MAX_TUNNELS = 32;
const CONNECT_TIMEOUT_MS = 10_000;

export interface EgressProxyOptions {
  /** The server's name, for the log. */
  server: string;
  /** Its entry's `hosts`: `name` (ports 80 and 443) or `name:port`. */
  hosts: readonly string[];
  /** Its entry's `lan`: the non-public addresses those names may resolve to. */
  lan: readonly LanGrant[];
  log: Logger;
  lookup?: HostLookup;
}

/**
 * The only way out of a sandboxed stdio server's network namespace: an HTTP CONNECT proxy on a
 * Unix socket bound into its sandbox (egress-relay.mjs there turns it into HTTPS_PROXY on
 * loopback). A tunnel is opened only to a host its entry names, on a granted port, and only
 * after the name's addresses are checked (public, or granted in `lan`); the connection goes to
 * exactly the checked address, so a DNS answer that changes between check and connect changes
 * nothing. Plain-HTTP proxying is refused (a CONNECT tunnel carries TLS end to end).
 *
 * @example
 * const proxy = await EgressProxy.open({ server: 'github', hosts: ['api.github.com'], lan: [], log });
 * stdioLaunch(entry, env, namespaceSupport, proxy.socketPath);
 * await proxy.dispose();
 */
export class EgressProxy {
  private readonly tunnels = new Set<Duplex>();
  private disposed: Promise<void> | undefined;

  private constructor(
    private readonly options: EgressProxyOptions,
    private readonly server: Server,
    private readonly dir: string,
    readonly socketPath: string,
  ) {}

  /** Listens on a socket in a fresh folder only this user can enter. */
  static async open(options: EgressProxyOptions): Promise<EgressProxy> {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-egress-'));
    const socketPath = join(dir, 'proxy.sock');
    const server = createServer((_req, res) => {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('only CONNECT is proxied: use https\n');
    });
    const proxy = new EgressProxy(options, server, dir, socketPath);
    server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => void proxy.tunnel(req, client, head));
    server.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => resolve());
    });
    return proxy;
  }

  /** Closes the socket and every tunnel, and removes the folder. Idempotent. */
  dispose(): Promise<void> {
    this.disposed ??= (async () => {
      for (const tunnel of this.tunnels) tunnel.destroy();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      await rm(this.dir, { recursive: true, force: true });
    })();
    return this.disposed;
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const { log, server } = this.options;
    client.on('error', () => client.destroy());
    const target = parseTarget(req.url ?? '');
    const refuse = (status: 403 | 429 | 502, reason: string) => {
      log.warn({ server, target: target ? `${target.host}:${target.port}` : 'invalid', reason }, 'MCP server egress refused');
      const body = `${reason}\n`;
      const title = status === 403 ? 'Forbidden' : status === 429 ? 'Too Many Requests' : 'Bad Gateway';
      client.end(`HTTP/1.1 ${status} ${title}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    };
    if (!target) return refuse(403, 'refused: CONNECT names host:port');
    if (this.tunnels.size >= MAX_TUNNELS) return refuse(429, `refused: ${MAX_TUNNELS} connections are open`);
    this.tunnels.add(client);
    client.once('close', () => this.tunnels.delete(client));
    const checked = await this.checkedAddresses(target.host, target.port).catch((error: unknown) => (error instanceof Error ? error.message : String(error)));
    if (typeof checked === 'string') return refuse(403, checked);
    const upstream = await connectFirst(checked, target.port).catch(() => undefined);
    if (!upstream) return refuse(502, `${target.host}:${target.port} did not answer`);
    if (client.destroyed) return void upstream.destroy();
    this.tunnels.add(upstream);
    upstream.once('close', () => this.tunnels.delete(upstream));
    log.info({ server, target: `${target.host}:${target.port}` }, 'MCP server egress');
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    if (head.length > 0) upstream.write(head);
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream).pipe(client);
  }

  /** The addresses to connect to. @throws naming the reason (not granted, not public) */
  private async checkedAddresses(host: string, port: number): Promise<ResolvedAddress[]> {
    const { hosts, lan } = this.options;
    const shown = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    if (!networkAllows(hosts, new URL(`http://${shown}`))) throw new Error(`refused: ${shown} is not in the server's hosts (${hosts.join(', ') || 'none'})`);
    const family = isIP(host);
    const addresses = family ? [{ address: host, family: family === 6 ? (6 as const) : (4 as const) }] : await (this.options.lookup ?? systemLookup)(host);
    if (addresses.length === 0) throw new Error(`refused: ${host} resolves to no address`);
    const refused = refusedAddress(host, addresses, port, lan, { field: "the server's lan", who: 'the server' });
    if (refused) throw new Error(`refused: ${refused}`);
    return addresses;
  }
}

/** `host:port` of a CONNECT line (IPv6 in brackets), the host lower-case; undefined when it is not one. */
function parseTarget(authority: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]/@\s]+)):(\d{1,5})$/.exec(authority);
  const port = Number(match?.[3]);
  if (!match || port < 1 || port > 65_535) return undefined;
  return { host: (match[1] ?? match[2] ?? '').toLowerCase(), port };
}

/** A TCP connection to the first of `addresses` that answers. */
async function connectFirst(addresses: readonly ResolvedAddress[], port: number): Promise<Socket> {
  let last: unknown;
  for (const { address } of addresses) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const socket = connect({ host: address, port, timeout: CONNECT_TIMEOUT_MS });
        socket.once('connect', () => {
          socket.setTimeout(0);
          resolve(socket);
        });
        socket.once('timeout', () => socket.destroy(new Error('timed out')));
        socket.once('error', reject);
      });
    } catch (error) {
      last = error;
    }
  }
  throw last;
}
