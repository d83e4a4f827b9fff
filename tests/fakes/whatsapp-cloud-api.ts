import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, LoopbackFake, ScriptedFailures } from './loopback-fake.js';

/** A scripted Graph API error, answered instead of the call it matches. */
export interface WhatsAppFailure {
  status: number;
  /** Graph error code, e.g. 130429 (rate limit), 131026 (undeliverable), 131000 (something went wrong). */
  code: number;
  message: string;
  /** Only sends to this wa_id fail. */
  to?: string;
  /** Only read receipts for this wamid fail. */
  messageId?: string;
  /** Let this many matching calls through first (to fail the second part of a split reply). */
  skip?: number;
}

/** One request the fake received, as the edge sent it. */
export interface RecordedWhatsAppCall {
  /** The request path, e.g. `/v21.0/1234567890/messages`. */
  path: string;
  phoneNumberId: string;
  /** The Authorization header as sent (`Bearer <token>`). */
  authorization: string;
  body: Record<string, unknown>;
  at: number;
}

const MESSAGES_PATH = /^\/v\d+\.\d+\/(\d+)\/messages$/;

/**
 * A stand-in for the WhatsApp Cloud API (Meta Graph): a real HTTP server on loopback that
 * answers `POST /<version>/<phone-number-id>/messages` like the real one (a send gets
 * `{ messaging_product, contacts, messages: [{ id: 'wamid.…' }] }`, a read receipt
 * `{ success: true }`, a missing token a Graph error 190) and records every call.
 *
 * It also serves what it recorded at `GET /__calls` and takes scripted failures at
 * `POST /__fail` (a {@link WhatsAppFailure} plus `count`), so tests inside workerd, which
 * cannot reach this object, can use it over HTTP.
 */
export class FakeWhatsAppCloudApi extends LoopbackFake<RecordedWhatsAppCall> {
  private readonly failures = new ScriptedFailures<WhatsAppFailure>();
  private nextMessageId = 1;

  /** The next `count` matching calls fail with this Graph error before any succeed. */
  failNext(failure: WhatsAppFailure, count = 1): void {
    this.failures.push(failure, count);
  }

  /** Text sends (not read receipts), in arrival order; to one wa_id when given. */
  sends(to?: string): RecordedWhatsAppCall[] {
    return this.calls.filter((call) => call.body.type === 'text' && (to === undefined || call.body.to === to));
  }

  /** Read receipts, in arrival order. */
  readReceipts(): RecordedWhatsAppCall[] {
    return this.calls.filter((call) => call.body.status === 'read');
  }

  constructor() {
    super('fake WhatsApp Cloud API');
  }

  /** The scripted failure this call meets, if any (consumed; a `skip` counts down first). */
  private takeFailure(body: Record<string, unknown>): WhatsAppFailure | undefined {
    return this.failures.take(
      (f) => (f.to === undefined || f.to === body.to) && (f.messageId === undefined || (body.status === 'read' && f.messageId === body.message_id)),
      // A `skip` lets that many matching calls through first.
      (f) => Boolean(f.skip && f.skip-- > 0),
    );
  }


  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    const graphError = (status: number, code: number, message: string, type = 'OAuthException') =>
      reply(status, { error: { message: `(#${code}) ${message}`, type, code, fbtrace_id: `Fake${this.calls.length}` } });
    if (req.method === 'GET' && req.url === '/__calls') return reply(200, this.calls);

    const body = await jsonBody(req);
    if (!body) return graphError(400, 100, 'Invalid parameter: the body is not JSON');
    if (req.method === 'POST' && req.url === '/__fail') {
      const { count, ...failure } = body as unknown as WhatsAppFailure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    const match = MESSAGES_PATH.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) return graphError(404, 803, 'Unknown path components', 'GraphMethodException');
    const authorization = req.headers.authorization ?? '';
    // Sub-millisecond, on the wall clock: benchmarks compare it with their own clock.
    this.record({ path: req.url ?? '', phoneNumberId: match[1] ?? '', authorization, body, at: performance.timeOrigin + performance.now() });

    if (!/^Bearer \S+$/.test(authorization)) return graphError(401, 190, 'Invalid OAuth access token');
    if (body.messaging_product !== 'whatsapp') return graphError(400, 100, 'Invalid parameter: messaging_product');
    const failure = this.takeFailure(body);
    if (failure) return graphError(failure.status, failure.code, failure.message);
    if (body.status === 'read') return reply(200, { success: true });
    const text = body.text as { body?: unknown } | undefined;
    if (typeof body.to !== 'string' || typeof text?.body !== 'string' || text.body === '') {
      return graphError(400, 100, 'Invalid parameter: to and text.body are required');
    }
    if (text.body.length > 4096) return graphError(400, 100, 'Invalid parameter: text.body is longer than 4096 characters');
    return reply(200, {
      messaging_product: 'whatsapp',
      contacts: [{ input: body.to, wa_id: body.to }],
      messages: [{ id: `wamid.fake${String(this.nextMessageId++).padStart(6, '0')}` }],
    });
  }
}
