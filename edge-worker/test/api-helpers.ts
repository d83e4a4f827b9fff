import { ClientEventSchema, signClientToken, type ClientEvent, type ClientScope, type CoreKeySet } from '@hearth/shared';
import { SELF } from 'cloudflare:test';
import { TestTunnel, coreKeys, waitFor } from './helpers.js';

let users = 0;
/** A user id no other test uses (rate limits and streams are per user). */
export const freshUser = (prefix = 'user') => `${prefix}-${++users}-${crypto.randomUUID().slice(0, 8)}`;

/** A client token the core would issue (`hearth token issue`). */
export async function clientToken(
  user: string,
  scopes: readonly ClientScope[] = ['chat:read', 'chat:write', 'sync'],
  { ttlSeconds = 600, keys = coreKeys(), audience }: { ttlSeconds?: number; keys?: CoreKeySet; audience?: string } = {},
) {
  return signClientToken(keys, { user, scopes, ttlSeconds, ...(audience ? { audience } : {}) });
}

/** A request to the real app (`SELF`) with a bearer token. */
export function apiFetch(path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('Authorization', `Bearer ${token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return SELF.fetch(`https://edge.test${path}`, { ...init, headers });
}

/** A client device's WebSocket on `/v1/ws`, with the events it received in order. */
export class ClientSocket {
  readonly events: (ClientEvent | { type: 'accepted'; id: string })[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener('message', (event) => {
      const data = JSON.parse(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data));
      this.events.push(data.type === 'accepted' ? data : ClientEventSchema.parse(data));
    });
    ws.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
    });
  }

  static async open(token: string, { after, headers = {} }: { after?: string; headers?: Record<string, string> } = {}): Promise<ClientSocket> {
    const response = await apiFetch(`/v1/ws${after ? `?after=${encodeURIComponent(after)}` : ''}`, token, { headers: { Upgrade: 'websocket', ...headers } });
    const ws = response.webSocket;
    if (response.status !== 101 || !ws) throw new Error(`client socket refused: ${response.status} ${await response.text()}`);
    ws.accept();
    return new ClientSocket(ws);
  }

  /** Waits for an event that matches, and returns it. */
  async next<T extends ClientEvent['type'] | 'accepted'>(type: T, match: (event: Extract<ClientEvent | { type: 'accepted'; id: string }, { type: T }>) => boolean = () => true) {
    return waitFor(async () => this.events.find((e): e is Extract<ClientEvent | { type: 'accepted'; id: string }, { type: T }> => e.type === type && match(e as never)), `a ${type} event`);
  }

  /** The turns received, in order. */
  messagesOf() {
    return this.events.flatMap((e) => (e.type === 'message' ? [e.item] : []));
  }

  close(): void {
    this.ws.close(1000, 'test done');
  }
}

const apiCores: TestTunnel[] = [];

/** A fake core on the tunnel that answers API clients (`serves_history`), with `model` in its hello when given; closed by {@link closeApiCores}. */
export async function connectApiCore(model?: { id: string; description: string }): Promise<TestTunnel> {
  const id = `core-${crypto.randomUUID().slice(0, 8)}`;
  const core = await TestTunnel.viaRoute(id);
  apiCores.push(core);
  core.send({ type: 'hello', core_id: id, credits: 2, serves_history: true, ...(model ? { model } : {}) });
  await core.next('welcome');
  return core;
}

/** Closes the cores {@link connectApiCore} opened (in `afterEach`). */
export function closeApiCores(): void {
  for (const core of apiCores.splice(0)) core.close();
}

/** An SSE response read as text: `readUntil` reads until `needle` has arrived; `text()` is all read so far. */
export function sseStream(response: Response): { readUntil: (needle: string) => Promise<void>; text: () => string; cancel: () => Promise<void> } {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  return {
    readUntil: async (needle) => {
      while (!text.includes(needle)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}`);
        text += value;
      }
    },
    text: () => text,
    cancel: () => reader.cancel(),
  };
}
