import { HISTORY_PAGE_MAX, type ClientEvent, type ConversationSummary, type HistoryItem, type HistoryQuery } from '@hearth/shared';
import { z } from 'zod';
import type { Refusal } from '../api/errors.js';
import { type SSEMessage, SSEStreamingApi } from 'hono/streaming';
import { describeError, log } from '../log.js';

/** Who a live stream belongs to, as the worker vouched for it (the Relay is reachable only through the worker). */
export const SubscriberSchema = z.object({
  user: z.string(),
  tokenKey: z.string(),
  /** Seconds since the epoch: the stream ends when its token does. */
  exp: z.number().int(),
  /** Whether it may send messages over the socket (`chat:write`). */
  canWrite: z.boolean(),
  device: z.string().max(64).optional(),
  /**
   * Where its catch-up stopped because no core could answer: it is caught up from here once a
   * core connects (kept on the socket, so it survives hibernation).
   */
  resumeFrom: z.string().nullable().optional(),
});
export type Subscriber = z.infer<typeof SubscriberSchema>;

/** A core's answer to a history query, or why there is none. */
export type HistoryAnswer = { ok: true; items: HistoryItem[]; has_more: boolean; conversations: ConversationSummary[] } | Refusal;
type History = (user: string, query: HistoryQuery, options: { waitForCore: boolean }) => Promise<HistoryAnswer>;

/** Catch-up reads at most this many pages of history; a device further behind reloads instead. */
const CATCH_UP_PAGES = 10;

/** SSE comment lines keep idle streams open through proxies. */
const SSE_KEEPALIVE_MS = 20_000;
export const CLIENT_TAG = 'client';
const userTag = (user: string) => `user:${user}`;

/** A stream a client reads: a hibernating WebSocket, or an SSE response held in memory. */
interface Stream {
  /** What identifies it across lookups: the socket itself, or the SSE stream object. */
  readonly key: object;
  subscriber: Subscriber;
  send(event: ClientEvent): void;
  close(reason: string): void;
  /** Updates what is kept about the subscriber. */
  remember(patch: Partial<Subscriber>): void;
}

/** One SSE event: `message` events carry their cursor as the id, so `Last-Event-ID` resumes. */
const sseMessage = (event: ClientEvent): SSEMessage => ({
  event: event.type,
  data: JSON.stringify(event),
  ...(event.type === 'message' ? { id: event.item.cursor } : {}),
});

/**
 * The live streams of API clients, per user: every device of a user sees the messages the
 * others send and every reply as it is written. A device that reconnects with a cursor first
 * gets what it missed, read from a core's history (the edge keeps none), then `synced`, then
 * live events; live events that arrive during the catch-up wait and are not sent twice.
 */
export class ClientHub {
  private readonly sse = new Map<string, Set<Stream>>();
  /** Streams catching up, with the live events held back until they have. */
  private readonly catchingUp = new Map<object, ClientEvent[]>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly history: History,
  ) {}

  /**
   * Why a new stream of `subscriber` is refused, if it is: past `perUser` open streams of the
   * user or `perToken` of the token. Each is held here (an SSE response in memory, a socket).
   */
  streamRefusal(subscriber: Subscriber, { perUser, perToken }: { perUser: number; perToken: number }): Refusal | undefined {
    const open = this.streamsOf(subscriber.user);
    const ofToken = open.filter((s) => s.subscriber.tokenKey === subscriber.tokenKey).length;
    if (open.length < perUser && ofToken < perToken) return undefined;
    log('warn', 'client_streams_capped', { user: subscriber.user, open: open.length, of_token: ofToken });
    const which = ofToken >= perToken ? `${perToken} per token` : `${perUser} per user`;
    return { ok: false, code: 'too_many_streams', message: `too many open streams (${which}): close one first`, retryAfterMs: 30_000 };
  }

  /** Accepts a client's WebSocket (hibernating) and starts its catch-up from `after`. */
  acceptSocket(subscriber: Subscriber, after: string | null, protocol: string | undefined): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, [CLIENT_TAG, userTag(subscriber.user)]);
    server.serializeAttachment(subscriber);
    void this.catchUp(this.socketStream(server, subscriber), after);
    log('info', 'client_stream_opened', { user: subscriber.user, kind: 'ws', device: subscriber.device });
    return new Response(null, { status: 101, webSocket: client, headers: protocol ? { 'Sec-WebSocket-Protocol': protocol } : {} });
  }

  /** An SSE response for a client, catching up from `after` first. */
  openEvents(subscriber: Subscriber, after: string | null): Response {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const sse = new SSEStreamingApi(writable, readable);
    const streams = this.sse.get(subscriber.user) ?? new Set();
    this.sse.set(subscriber.user, streams);
    let keepalive: ReturnType<typeof setInterval> | undefined;
    let closed = false;
    const stream: Stream = {
      get key() {
        return stream;
      },
      subscriber,
      send: (event) => void sse.writeSSE(sseMessage(event)),
      remember: (patch) => {
        stream.subscriber = { ...stream.subscriber, ...patch };
      },
      close: (reason) => {
        if (closed) return;
        closed = true;
        clearInterval(keepalive);
        streams.delete(stream);
        this.catchingUp.delete(stream);
        void sse.close();
        log('info', 'client_stream_closed', { user: subscriber.user, kind: 'sse', reason });
      },
    };
    streams.add(stream);
    // A client that goes away cancels the response: its slot is free at once, not at the next write.
    sse.onAbort(() => stream.close('client gone'));
    void sse.write('retry: 3000\n\n');
    keepalive = setInterval(() => void sse.write(': keepalive\n\n'), SSE_KEEPALIVE_MS);
    void this.catchUp(stream, after);
    log('info', 'client_stream_opened', { user: subscriber.user, kind: 'sse', device: subscriber.device });
    return new Response(sse.responseReadable, {
      headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', 'X-Accel-Buffering': 'no' },
    });
  }

  /** Sends an event to every live stream of a user (held back for streams still catching up). */
  publish(user: string, event: ClientEvent): void {
    const now = Date.now();
    for (const stream of this.streamsOf(user)) {
      if (stream.subscriber.exp * 1000 <= now) {
        stream.close('token expired');
        continue;
      }
      const held = this.catchingUp.get(stream.key);
      if (held) held.push(event);
      else stream.send(event);
    }
  }

  /** Ends every stream opened with a token (it was revoked). */
  closeToken(tokenKey: string): number {
    let closed = 0;
    for (const stream of this.allStreams()) {
      if (stream.subscriber.tokenKey !== tokenKey) continue;
      stream.close('token revoked');
      closed++;
    }
    return closed;
  }

  /**
   * A core that answers history connected: streams whose catch-up failed for want of one are
   * caught up now (events they already got live may come again; `message_id` tells them apart).
   */
  coreConnected(): void {
    for (const stream of this.allStreams()) {
      const from = stream.subscriber.resumeFrom;
      if (from === undefined || this.catchingUp.has(stream.key)) continue;
      void this.catchUp(stream, from);
    }
  }

  /** The subscriber of a client socket (its hibernation attachment). */
  subscriberOf(ws: WebSocket): Subscriber | undefined {
    const parsed = SubscriberSchema.safeParse(ws.deserializeAttachment());
    return parsed.success ? parsed.data : undefined;
  }

  /** Sends one frame to a client socket; a socket that is closing just misses it. */
  sendTo(ws: WebSocket, payload: unknown): void {
    try {
      ws.send(JSON.stringify(payload));
    } catch (error) {
      log('warn', 'client_send_failed', { error: describeError(error) });
    }
  }

  private async catchUp(stream: Stream, after: string | null): Promise<void> {
    const { user } = stream.subscriber;
    const { key } = stream;
    this.catchingUp.set(key, []);
    const sent = new Set<string>();
    let cursor = after;
    let resumeFrom: string | null | undefined;
    try {
      for (let page = 0; after !== null && page < CATCH_UP_PAGES; page++) {
        const answer = await this.history(user, { kind: 'since', after: cursor, limit: HISTORY_PAGE_MAX }, { waitForCore: true });
        if (!answer.ok) {
          stream.send({ type: 'error', code: answer.code, message: `could not catch up: ${answer.message}` });
          if (answer.code === 'core_offline') resumeFrom = cursor;
          break;
        }
        for (const item of answer.items) {
          stream.send({ type: 'message', item });
          sent.add(item.message_id);
          cursor = item.cursor;
        }
        if (!answer.has_more) break;
      }
    } catch (error) {
      log('error', 'client_catch_up_failed', { user, error: describeError(error) });
    }
    stream.remember({ resumeFrom });
    const held = this.catchingUp.get(key) ?? [];
    this.catchingUp.delete(key);
    stream.send({ type: 'synced', cursor });
    for (const event of held) if (event.type !== 'message' || !sent.has(event.item.message_id)) stream.send(event);
  }

  private socketStream(ws: WebSocket, subscriber: Subscriber): Stream {
    return {
      key: ws,
      subscriber,
      send: (event) => this.sendTo(ws, event),
      remember: (patch) => {
        try {
          ws.serializeAttachment({ ...subscriber, ...patch });
        } catch {
          // closing: nothing to keep
        }
      },
      close: (reason) => {
        try {
          ws.close(4401, reason);
        } catch {
          // already closing
        }
      },
    };
  }

  private streamsOf(user: string): Stream[] {
    const sockets = this.ctx.getWebSockets(userTag(user)).flatMap((ws) => {
      const subscriber = this.subscriberOf(ws);
      return subscriber ? [this.socketStream(ws, subscriber)] : [];
    });
    return [...sockets, ...(this.sse.get(user) ?? [])];
  }

  private allStreams(): Stream[] {
    const sockets = this.ctx.getWebSockets(CLIENT_TAG).flatMap((ws) => {
      const subscriber = this.subscriberOf(ws);
      return subscriber ? [this.socketStream(ws, subscriber)] : [];
    });
    return [...sockets, ...[...this.sse.values()].flatMap((set) => [...set])];
  }
}
