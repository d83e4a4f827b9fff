import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, LoopbackFake, ScriptedFailures } from './loopback-fake.js';

/** A scripted failure of the `send_email` binding: it throws an Error with this message. */
export interface EmailFailure {
  /** What the binding's Error says, e.g. `email to x@example.com not allowed` (permanent) or `Too many requests`. */
  error: string;
  /** Only mail to this address fails. */
  to?: string;
}

/** One mail the edge sent, as the binding got it: the envelope and the raw MIME. */
export interface RecordedEmail {
  from: string;
  to: string;
  raw: string;
  at: number;
}

/**
 * A stand-in for Cloudflare's `send_email` binding, on loopback: the edge tests bind `EMAIL` to
 * a worker (email-binding-worker.js) whose `send()` posts the envelope and raw MIME here
 * (`POST /send`) and throws what this answers with a 500. Recorded mail is at `GET /__calls`;
 * scripted failures ({@link EmailFailure} plus `count`) go to `POST /__fail`.
 */
export class FakeEmailService extends LoopbackFake<RecordedEmail> {
  private readonly failures = new ScriptedFailures<EmailFailure>();

  constructor() {
    super('fake send_email binding');
  }

  failNext(failure: EmailFailure, count = 1): void {
    this.failures.push(failure, count);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(payload));
    };
    if (req.method === 'GET' && req.url === '/__calls') return reply(200, this.calls);
    const body = await jsonBody(req);
    if (!body) return reply(400, { error: 'not JSON' });
    if (req.method === 'POST' && req.url === '/__fail') {
      const { count, ...failure } = body as unknown as EmailFailure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    if (req.method !== 'POST' || req.url !== '/send') return reply(404, { error: 'unknown route' });
    const mail = { from: String(body.from), to: String(body.to), raw: String(body.raw), at: performance.timeOrigin + performance.now() };
    this.record(mail);
    const failure = this.failures.take((f) => f.to === undefined || f.to === mail.to);
    if (failure) return reply(500, { error: failure.error });
    return reply(200, { messageId: `<fake.${this.calls.length}@email.test>` });
  }
}
