import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  PING,
  PONG,
  encodeFrame,
  generateCoreKeySet,
  parseCoreFrame,
  publicKeySet,
  verifyTunnelToken,
  type CoreFrame,
  type CoreKeySet,
  type DeliverFrame,
} from '@hearth/shared';
import type { pino } from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { TunnelClient } from '../src/tunnel/client.js';
import { capturingLogger, silentLogger } from './support.js';

/**
 * A real WebSocket server on loopback that plays the Relay's side of the protocol: it checks
 * the tunnel JWT against the core's public keys, answers hello with welcome, and can be told
 * to drop the link or to go silent.
 *
 * It stands in for our own Relay on purpose: these cases need an edge that misbehaves on cue
 * (a link gone silent mid-session, a 401 until told otherwise, a frame of another protocol
 * version), which the real one cannot be made to do. The real edge and client meet in
 * tests/e2e: the roundtrip, and the delivery faults (kill -9, edge restart, a blackholed link
 * noticed by both sides).
 */
class RelayDouble {
  readonly frames: CoreFrame[] = [];
  readonly sockets: WebSocket[] = [];
  connections = 0;
  /** The jti of every token accepted: like the real Relay, a token is accepted once. */
  readonly jtis: string[] = [];
  rejectWith: number | undefined;
  silent = false;
  /** The heartbeat this relay announces in its welcome. */
  heartbeatMs = 10_000;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(private readonly publicKeys: CoreKeySet) {
    this.http = createServer();
    this.http.on('upgrade', async (req, socket, head) => {
      const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      const verified = await verifyTunnelToken(token, this.publicKeys).catch(() => undefined);
      const ok = verified !== undefined && !this.jtis.includes(verified.jti);
      if (ok && !this.rejectWith) this.jtis.push(verified.jti);
      if (!ok || this.rejectWith) {
        socket.end(`HTTP/1.1 ${this.rejectWith ?? 401} Unauthorized\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async listen(): Promise<string> {
    this.http.listen(0, '127.0.0.1');
    await once(this.http, 'listening');
    return `http://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const ws of this.sockets) ws.terminate();
    this.http.closeAllConnections();
    await new Promise((resolve) => this.http.close(resolve));
  }

  private accept(ws: WebSocket): void {
    this.connections++;
    this.sockets.push(ws);
    ws.on('message', (data) => {
      if (this.silent) return;
      const text = data.toString();
      if (text === PING) return void ws.send(PONG);
      const parsed = parseCoreFrame(text);
      if (!parsed.ok) throw parsed.error;
      this.frames.push(parsed.value);
      if (parsed.value.type === 'hello') {
        ws.send(encodeFrame({ type: 'welcome', session_id: `s${this.connections}`, heartbeat_ms: this.heartbeatMs, silence_ms: this.heartbeatMs * 2.5, ack_timeout_ms: 5_000 }));
      }
    });
  }
}

let keys: CoreKeySet;
beforeAll(async () => {
  keys = await generateCoreKeySet();
});

const running: { client?: TunnelClient; relay?: RelayDouble } = {};
afterEach(async () => {
  await running.client?.dispose();
  await running.relay?.close();
});

async function setup(options: { heartbeatMs?: number; log?: pino.Logger; onDeliver?: (f: DeliverFrame) => void } = {}) {
  const relay = new RelayDouble(publicKeySet(keys));
  const edgeUrl = await relay.listen();
  const client = new TunnelClient({
    edgeUrl,
    coreId: 'attic',
    keySet: keys,
    credits: 3,
    heartbeatMs: options.heartbeatMs ?? 10_000,
    log: options.log ?? silentLogger(),
    onDeliver: options.onDeliver ?? (() => {}),
  });
  Object.assign(running, { client, relay });
  return { relay, client };
}

describe('TunnelClient', () => {
  it('dials out with a JWT the edge accepts and says hello with its window', async () => {
    const { relay, client } = await setup();
    client.start();
    const [session] = await once(client, 'ready');
    expect(session).toEqual({ sessionId: 's1', heartbeatMs: 10_000, silenceMs: 25_000, ackTimeoutMs: 5_000 });
    expect(client.state).toBe('ready');
    expect(relay.frames[0]).toEqual({ v: 1, type: 'hello', core_id: 'attic', credits: 3 });
  });

  it('hands deliveries to the pipeline and sends frames back', async () => {
    const delivered: DeliverFrame[] = [];
    const { relay, client } = await setup({ onDeliver: (f) => delivered.push(f) });
    client.start();
    await once(client, 'ready');
    relay.sockets[0]!.send(encodeFrame({ type: 'deliver', message_id: 'm1', conversation_id: 'c1', attempt: 1, sealed: 'x.y.z.w.v' }));
    await expect.poll(() => delivered.length).toBe(1);
    expect(client.send({ type: 'ack', message_id: 'm1' })).toBe(true);
    await expect.poll(() => relay.frames.at(-1)).toEqual({ v: 1, type: 'ack', message_id: 'm1' });
  });

  it('redials with a fresh token after the link drops', async () => {
    const { relay, client } = await setup();
    client.start();
    await once(client, 'ready');
    relay.sockets[0]!.close(1011, 'relay restarting');
    const [code] = await once(client, 'disconnected');
    expect(code).toBe(1011);
    expect(client.send({ type: 'ack', message_id: 'm' })).toBe(false);
    const [session] = await once(client, 'ready');
    expect(session.sessionId).toBe('s2');
    expect(relay.frames.filter((f) => f.type === 'hello')).toHaveLength(2);
    // Fresh means its own jti: the edge accepts each token once.
    expect(relay.jtis).toHaveLength(2);
    expect(new Set(relay.jtis).size).toBe(2);
  });

  it("notices a link gone silent without a close frame, on the edge's heartbeat, and redials", async () => {
    const { relay, client } = await setup({ heartbeatMs: 60_000 });
    relay.heartbeatMs = 150;
    client.start();
    await once(client, 'ready');
    relay.silent = true;
    const started = Date.now();
    await once(client, 'disconnected');
    // Silence is 2.5 heartbeats, checked once per heartbeat: the client's own 60 s never applied.
    expect(Date.now() - started).toBeLessThan(150 * 4 + 500);
    relay.silent = false;
    await once(client, 'ready');
    expect(relay.connections).toBe(2);
  });

  it('says which setting to fix when the edge refuses its key, and keeps trying with backoff', async () => {
    const { log, lines } = capturingLogger('warn');
    const { relay, client } = await setup({ log });
    relay.rejectWith = 401;
    client.start();
    await expect.poll(() => lines.some((l) => l.includes('HEARTH_CORE_JWKS')), { timeout: 5_000 }).toBe(true);
    relay.rejectWith = undefined;
    await once(client, 'ready');
  });

  it('refuses an edge of another protocol version, saying which side to upgrade', async () => {
    const { log, lines } = capturingLogger('error');
    const { relay, client } = await setup({ log });
    client.start();
    await once(client, 'ready');
    const closed = once(relay.sockets[0]!, 'close');
    relay.sockets[0]!.send(JSON.stringify({ v: 2, type: 'deliver', whatever: true }));
    const [code] = await closed;
    expect(code).toBe(4001);
    expect(lines.join('')).toContain('upgrade the core');
  });

  it('stops for good: closes with 1000 and does not redial', async () => {
    const { relay, client } = await setup();
    client.start();
    await once(client, 'ready');
    const closed = once(relay.sockets[0]!, 'close');
    await client.dispose();
    const [code] = await closed;
    expect(code).toBe(1000);
    // A redial would follow the first backoff (under a second): nothing but time comes after it.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(relay.connections).toBe(1);
    expect(client.state).toBe('stopped');
  });
});
