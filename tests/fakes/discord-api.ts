import type { IncomingMessage, ServerResponse } from 'node:http';
import { jsonBody, LoopbackFake, ScriptedFailures } from './loopback-fake.js';

/** A scripted failure, answered instead of the call it matches; a 2xx `status` lets the call succeed, with the rate-limit headers of `resetAfter`. */
export interface DiscordFailure {
  status: number;
  /** Discord's JSON error code: 10003 Unknown Channel, 10062 Unknown interaction, 50001 Missing Access, … */
  code?: number;
  message?: string;
  /** Seconds, sent as `retry_after` in the body and as Retry-After (rounded up). */
  retryAfter?: number;
  /** Sent as X-RateLimit-Reset-After, with X-RateLimit-Remaining 0 (the bucket is empty). */
  resetAfter?: number;
  /** Only calls whose path contains this fail. */
  path?: string;
}

/** One request the fake received, as the edge sent it. */
export interface RecordedDiscordCall {
  method: string;
  /** As requested, under the API base: `/webhooks/<app>/<token>/messages/@original`, `/channels/<id>/messages`, … */
  path: string;
  /** The Authorization header as sent (`Bot …` on bot routes; none on webhook routes). */
  authorization: string;
  /** The JSON body (the command list of a PUT is an array). */
  body: Record<string, unknown>;
  at: number;
}

const WEBHOOK = /^\/webhooks\/(\d+)\/([^/]+)(\/messages\/@original)?$/;
const CHANNEL = /^\/channels\/(\d+)\/(messages|typing)$/;
const COMMANDS = /^\/applications\/(\d+)\/commands$/;

/**
 * A stand-in for the Discord HTTP API (v10) on loopback: edits of an interaction's original
 * response and follow-ups on its webhook, channel messages and typing with the bot token,
 * and the application's command list; it records every call. Errors are Discord's shape
 * (`{ code, message }`, 429 with `retry_after`).
 *
 * It also serves what it recorded at `GET /__calls` and takes scripted failures at
 * `POST /__fail` (a {@link DiscordFailure} plus `count`), so tests inside workerd can use it.
 */
export class FakeDiscordApi extends LoopbackFake<RecordedDiscordCall> {
  private readonly failures = new ScriptedFailures<DiscordFailure>();
  private nextId = 1n;

  constructor(
    private readonly applicationId: string,
    private readonly botToken: string,
  ) {
    super('fake Discord API');
  }

  failNext(failure: DiscordFailure, count = 1): void {
    this.failures.push(failure, count);
  }

  /** Edits of `token`'s original response. */
  edits(token: string): RecordedDiscordCall[] {
    return this.calls.filter((c) => c.method === 'PATCH' && c.path === `/webhooks/${this.applicationId}/${token}/messages/@original`);
  }

  /** Follow-ups on `token`'s webhook. */
  followUps(token: string): RecordedDiscordCall[] {
    return this.calls.filter((c) => c.method === 'POST' && c.path === `/webhooks/${this.applicationId}/${token}`);
  }

  /** Messages the bot posted into `channel`. */
  channelMessages(channel: string): RecordedDiscordCall[] {
    return this.calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channel}/messages`);
  }

  /** Everything that put text in front of someone (edits, follow-ups, channel messages). */
  messages(): RecordedDiscordCall[] {
    return this.calls.filter((c) => !c.path.startsWith('/applications/') && !c.path.endsWith('/typing'));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers });
      res.end(payload === undefined ? undefined : JSON.stringify(payload));
    };
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (req.method === 'GET' && path === '/__calls') return reply(200, this.calls);
    const body = await jsonBody(req);
    if (!body) return reply(400, { code: 50109, message: 'The request body contains invalid JSON.' });
    if (req.method === 'POST' && path === '/__fail') {
      const { count, ...failure } = body as unknown as DiscordFailure & { count?: number };
      this.failNext(failure, count ?? 1);
      return reply(200, { ok: true });
    }
    const authorization = req.headers.authorization ?? '';
    this.record({ method: req.method ?? '', path, authorization, body, at: performance.timeOrigin + performance.now() });

    const webhook = WEBHOOK.exec(path);
    const channel = CHANNEL.exec(path);
    const commands = COMMANDS.exec(path);
    if (!webhook && !channel && !commands) return reply(404, { code: 0, message: '404: Not Found' });
    if ((channel || commands) && authorization !== `Bot ${this.botToken}`) return reply(401, { code: 0, message: '401: Unauthorized' });
    if ((webhook?.[1] ?? commands?.[1] ?? this.applicationId) !== this.applicationId) return reply(404, { code: 10015, message: 'Unknown Webhook' });
    const failure = this.failures.take((f) => f.path === undefined || path.includes(f.path));
    const limitHeaders: Record<string, string> =
      failure?.resetAfter !== undefined ? { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset-after': String(failure.resetAfter) } : {};
    if (failure && failure.status >= 300) {
      const headers: Record<string, string> = {
        ...(failure.retryAfter !== undefined ? { 'retry-after': String(Math.ceil(failure.retryAfter)) } : {}),
        ...limitHeaders,
      };
      const payload = { code: failure.code ?? 0, message: failure.message ?? 'scripted failure', ...(failure.retryAfter !== undefined ? { retry_after: failure.retryAfter, global: false } : {}) };
      return reply(failure.status, payload, headers);
    }
    if (commands) {
      if (req.method !== 'PUT' || !Array.isArray(body)) return reply(405, { code: 0, message: '405: Method Not Allowed' });
      return reply(200, (body as Record<string, unknown>[]).map((command) => ({ ...command, id: this.id(), application_id: this.applicationId, version: this.id() })));
    }
    if (channel?.[2] === 'typing') return req.method === 'POST' ? reply(204) : reply(405, { code: 0, message: '405: Method Not Allowed' });
    if ((webhook?.[3] ? 'PATCH' : 'POST') !== req.method) return reply(405, { code: 0, message: '405: Method Not Allowed' });
    const content = body.content;
    if (typeof content !== 'string' || content.length > 2_000 || (content.trim() === '' && !webhook?.[3])) {
      return reply(400, { code: 50035, message: 'Invalid Form Body' });
    }
    const message = { id: this.id(), channel_id: channel?.[1] ?? '0', content, author: { id: this.applicationId, bot: true }, components: body.components ?? [] };
    return reply(200, message, limitHeaders);
  }

  private id(): string {
    return String(1_400_000_000_000_000_000n + this.nextId++);
  }
}
