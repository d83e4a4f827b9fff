import { once } from 'node:events';
import { type CoreFrame, type EdgeFrameBody, encodeFrame, parseCoreFrame } from '@hearth/shared';
import { expect } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';

/**
 * A stand-in for our own edge, on a real loopback socket: it speaks just enough of the tunnel
 * (welcome after hello, then what the test sends) to exercise the core's side of it. It is not
 * the Relay: delivery, auth and routing are tested against the real edge in tests/e2e.
 */
export interface LoopbackEdge {
  url: string;
  /** Every frame cores sent, parsed (an unparsable one fails the test). */
  received: CoreFrame[];
  /** Sends a frame to the most recent connection. */
  send(frame: EdgeFrameBody): void;
  /** The first frame received matching `predicate`, once it has arrived. */
  next<T extends CoreFrame>(predicate: (frame: CoreFrame) => frame is T): Promise<T>;
  close(): Promise<void>;
}

/**
 * Starts the stand-in on a free loopback port. `answer` may reply to a frame (an owner command's
 * `access`, say) with frames of its own.
 */
export async function startLoopbackEdge(answer?: (frame: CoreFrame) => EdgeFrameBody[] | undefined): Promise<LoopbackEdge> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
  const received: CoreFrame[] = [];
  let current: WebSocket | undefined;
  server.on('connection', (socket) => {
    current = socket;
    socket.on('message', (data) => {
      const parsed = parseCoreFrame(data.toString());
      if (!parsed.ok) throw parsed.error;
      const frame = parsed.value;
      received.push(frame);
      if (frame.type === 'hello') {
        socket.send(encodeFrame({ type: 'welcome', session_id: 'loopback', heartbeat_ms: 60_000, silence_ms: 180_000, ack_timeout_ms: 30_000 }));
      }
      for (const reply of answer?.(frame) ?? []) socket.send(encodeFrame(reply));
    });
  });
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    send(frame) {
      if (!current) throw new Error('no core connected');
      current.send(encodeFrame(frame));
    },
    async next(predicate) {
      await expect.poll(() => received.some(predicate), { timeout: 10_000 }).toBe(true);
      const found = received.find(predicate);
      if (!found || !predicate(found)) throw new Error('unreachable');
      return found;
    },
    async close() {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}
