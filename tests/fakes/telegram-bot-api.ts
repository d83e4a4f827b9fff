import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Failure {
  status: number;
  description: string;
  retryAfter?: number;
  /** Only calls for this chat fail; any call when unset. */
  chatId?: string;
}

/** One request the fake Bot API received, as the edge sent it. */
export interface RecordedCall {
  token: string;
  method: string;
  body: Record<string, unknown>;
  at: number;
}

/**
 * A stand-in for the Telegram Bot API: a real HTTP server on loopback that answers like the
 * real one (`{ ok, result }`) and records every call. Scripted failures (`failNext`) answer
 * like Telegram does under load (429 with `parameters.retry_after`) or on a bad request.
 *
 * It also serves what it recorded at `GET /__calls` and takes scripted failures at
 * `POST /__fail`, so tests inside workerd, which cannot reach this object, can use it over HTTP.
 */
export class FakeTelegramBotApi {
  readonly calls: RecordedCall[] = [];
  private readonly failures: Failure[] = [];
  private server: Server | undefined;
  private waiters: (() => void)[] = [];
  private nextMessageId = 1000;

  /** Starts listening on 127.0.0.1 and an ephemeral port unless one is given. */
  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return this.baseUrl;
  }

  get baseUrl(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('fake Telegram API is not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The next `count` calls (for `chatId`, if given) fail with this status before any succeed. */
  failNext(failure: Failure, count = 1): void {
    for (let i = 0; i < count; i++) this.failures.push(failure);
  }

  /** Calls of one Bot API method, in arrival order. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Resolves once `predicate` holds over the recorded calls, or rejects after `timeoutMs`. */
  async waitFor(predicate: (calls: RecordedCall[]) => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.calls)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`fake Telegram API: condition not met within ${timeoutMs} ms (${this.calls.length} calls)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: import('node:http').ServerResponse): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'GET' && req.url === '/__calls') return reply(200, this.calls);

    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    }
    if (req.method === 'POST' && req.url === '/__fail') {
      const { count, ...failure } = body as unknown as Failure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token = '', method = ''] = match;
    // Sub-millisecond, on the wall clock: benchmarks compare it with their own clock.
    this.calls.push({ token, method, body, at: performance.timeOrigin + performance.now() });
    for (const wake of this.waiters.splice(0)) wake();

    const index = this.failures.findIndex((f) => f.chatId === undefined || f.chatId === String(body.chat_id));
    const failure = index >= 0 ? this.failures.splice(index, 1)[0] : undefined;
    if (failure) {
      return reply(failure.status, {
        ok: false,
        error_code: failure.status,
        description: failure.description,
        ...(failure.retryAfter !== undefined ? { parameters: { retry_after: failure.retryAfter } } : {}),
      });
    }
    if (method === 'sendMessage') {
      return reply(200, {
        ok: true,
        result: { message_id: this.nextMessageId++, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id) }, text: body.text },
      });
    }
    return reply(200, { ok: true, result: true });
  }
}
