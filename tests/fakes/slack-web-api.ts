import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, LoopbackFake, ScriptedFailures } from './loopback-fake.js';

/** A scripted Web API failure, answered instead of the call it matches. */
export interface SlackFailure {
  /** Slack's error code: `ratelimited`, `channel_not_found`, `not_in_channel`, `invalid_auth`, … */
  error: string;
  /** 200 for most errors (Slack's way), 429 for a rate limit. */
  status?: number;
  /** Seconds, sent as the Retry-After header. */
  retryAfter?: number;
  /** Only calls into this channel fail. */
  channel?: string;
}

/** One request the fake received, as the edge sent it. */
export interface RecordedSlackCall {
  /** The Web API method, e.g. `chat.postMessage`. */
  method: string;
  /** The Authorization header as sent (`Bearer xoxb-…`). */
  authorization: string;
  body: Record<string, unknown>;
  at: number;
}

/**
 * A stand-in for the Slack Web API: a real HTTP server on loopback that answers
 * `POST /<method>` like Slack (`{ ok: true, channel, ts, message }` for chat.postMessage,
 * `{ ok: false, error }` with HTTP 200 for failures, 429 + Retry-After for rate limits) and
 * records every call.
 *
 * It also serves what it recorded at `GET /__calls` and takes scripted failures at
 * `POST /__fail` (a {@link SlackFailure} plus `count`), so tests inside workerd can use it.
 */
export class FakeSlackWebApi extends LoopbackFake<RecordedSlackCall> {
  private readonly failures = new ScriptedFailures<SlackFailure>();
  private nextTs = 1;

  constructor(private readonly botToken?: string) {
    super('fake Slack Web API');
  }

  /** The next `count` matching calls fail like Slack does before any succeed. */
  failNext(failure: SlackFailure, count = 1): void {
    this.failures.push(failure, count);
  }

  /** chat.postMessage calls, in arrival order; into one channel when given. */
  posts(channel?: string): RecordedSlackCall[] {
    return this.calls.filter((call) => call.method === 'chat.postMessage' && (channel === undefined || call.body.channel === channel));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'GET' && req.url === '/__calls') return reply(200, this.calls);
    const body = await jsonBody(req);
    if (!body) return reply(200, { ok: false, error: 'invalid_json' });
    if (req.method === 'POST' && req.url === '/__fail') {
      const { count, ...failure } = body as unknown as SlackFailure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    const method = /^\/([a-z]+\.[A-Za-z]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || !method) return reply(404, { ok: false, error: 'unknown_method' });
    const authorization = req.headers.authorization ?? '';
    // Sub-millisecond, on the wall clock: tests compare gaps between calls.
    this.record({ method, authorization, body, at: performance.timeOrigin + performance.now() });

    const token = /^Bearer (\S+)$/.exec(authorization)?.[1];
    if (!token) return reply(200, { ok: false, error: 'not_authed' });
    if (this.botToken !== undefined && token !== this.botToken) return reply(200, { ok: false, error: 'invalid_auth' });
    const failure = this.failures.take((f) => f.channel === undefined || f.channel === body.channel);
    if (failure) {
      const headers: Record<string, string> = failure.retryAfter !== undefined ? { 'retry-after': String(failure.retryAfter) } : {};
      return reply(failure.status ?? 200, { ok: false, error: failure.error }, headers);
    }
    if (method !== 'chat.postMessage') return reply(200, { ok: false, error: 'unknown_method' });
    if (typeof body.channel !== 'string' || body.channel === '') return reply(200, { ok: false, error: 'channel_not_found' });
    if (typeof body.text !== 'string' || body.text.trim() === '') return reply(200, { ok: false, error: 'no_text' });
    if (body.text.length > 40_000) return reply(200, { ok: false, error: 'msg_too_long' });
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.nextTs++).padStart(6, '0')}`;
    return reply(200, {
      ok: true,
      channel: body.channel,
      ts,
      message: { type: 'message', text: body.text, bot_id: 'B0FAKEBOT', ts, ...(body.thread_ts ? { thread_ts: body.thread_ts } : {}) },
    });
  }
}
