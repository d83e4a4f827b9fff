import { ClientEventSchema, type ClientEvent, type ClientSend } from '@hearth/shared';
import WebSocket from 'ws';
import { CoreProcess } from './core-process.js';
import type { System } from './system.js';

/** Runs `hearth <args>` as this system's owner and returns what it printed on stdout. */
export async function hearthCli(system: System, args: string[]): Promise<string> {
  const run = new CoreProcess(system.coreCliEnv, args);
  const code = await run.exited;
  if (code !== 0) throw new Error(`hearth ${args.join(' ')} exited ${code}:\n${run.raw.join('\n')}`);
  return run.stdout;
}

/** A client token from `hearth token issue`, as the owner gets one. */
export async function issueToken(system: System, user: string, scopes?: string[]): Promise<string> {
  const token = (await hearthCli(system, ['token', 'issue', '--user', user, ...(scopes ? ['--scopes', scopes.join(',')] : [])])).trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)) throw new Error(`hearth token issue printed no token: ${token}`);
  return token;
}

type Received = ClientEvent | { type: 'accepted'; id: string };

/**
 * One of a user's devices on `/v1/ws` (a real WebSocket over loopback), with what it received.
 * It authenticates as browsers do, with the bearer subprotocol.
 */
export class Device {
  readonly events: Received[] = [];

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const parsed = JSON.parse(data.toString()) as { type: string };
      this.events.push(parsed.type === 'accepted' ? (parsed as Received) : ClientEventSchema.parse(parsed));
    });
  }

  static async connect(edgeUrl: string, token: string, after?: string): Promise<Device> {
    const url = `${edgeUrl.replace(/^http/, 'ws')}/v1/ws${after ? `?after=${encodeURIComponent(after)}` : ''}`;
    const socket = new WebSocket(url, ['hearth.v1', `hearth.bearer.${token}`]);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
      socket.once('unexpected-response', (_req, res) => reject(new Error(`ws refused: ${res.statusCode}`)));
    });
    const device = new Device(socket);
    await device.next('synced');
    return device;
  }

  get protocol(): string {
    return this.socket.protocol;
  }

  /** Sends a message over the socket (answered by an `accepted` event). */
  send(frame: ClientSend): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** The user and assistant turns received, in order. */
  messages() {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.item] : []));
  }

  async next<T extends Received['type']>(type: T, match: (event: Extract<Received, { type: T }>) => boolean = () => true, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e): e is Extract<Received, { type: T }> => e.type === type && match(e as Extract<Received, { type: T }>));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no ${type} event within ${timeoutMs} ms; got ${JSON.stringify(this.events.map((e) => e.type))}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.socket.once('close', resolve));
    this.socket.close(1000, 'done');
    await closed;
  }
}
