import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback between a core and the edge. `blackhole()` makes every connection
 * open at that moment go silent in both directions without closing anything, as a dead NAT
 * mapping or a pulled cable does: no FIN, no RST, just nothing. New connections pass normally.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; dead: boolean }>();
  connections = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.target.port, this.target.host);
      const pair = { client, upstream, dead: false };
      this.pairs.add(pair);
      client.on('data', (chunk) => pair.dead || upstream.write(chunk));
      upstream.on('data', (chunk) => pair.dead || client.write(chunk));
      // A blackholed link carries no close either.
      client.on('close', () => pair.dead || upstream.destroy());
      upstream.on('close', () => pair.dead || client.destroy());
      client.on('error', () => {});
      upstream.on('error', () => {});
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  blackhole(): void {
    for (const pair of this.pairs) pair.dead = true;
  }

  /** Closes every connection open at this moment (a reset, as a crashed router does); new ones pass. */
  drop(): void {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}
