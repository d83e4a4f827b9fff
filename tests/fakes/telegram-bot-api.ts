import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, LoopbackFake, ScriptedFailures } from './loopback-fake.js';

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
export class FakeTelegramBotApi extends LoopbackFake<RecordedCall> {
  private readonly failures = new ScriptedFailures<Failure>();
  private nextMessageId = 1000;

  /** The next `count` calls (for `chatId`, if given) fail with this status before any succeed. */
  failNext(failure: Failure, count = 1): void {
    this.failures.push(failure, count);
  }

  /** Calls of one Bot API method, in arrival order. */
  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  constructor() {
    super('fake Telegram API');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'GET' && req.url === '/__calls') return reply(200, this.calls);

    const body = await jsonBody(req);
    if (!body) return reply(400, { ok: false, error_code: 400, description: 'Bad Request: invalid JSON' });
    if (req.method === 'POST' && req.url === '/__fail') {
      const { count, ...failure } = body as unknown as Failure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? '');
    if (!match) return reply(404, { ok: false, error_code: 404, description: 'Not Found' });
    const [, token = '', method = ''] = match;
    // Sub-millisecond, on the wall clock: benchmarks compare it with their own clock.
    this.record({ token, method, body, at: performance.timeOrigin + performance.now() });

    const failure = this.failures.take((f) => f.chatId === undefined || f.chatId === String(body.chat_id));
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
