import {
  PING,
  PONG,
  ProtocolMismatchError,
  TUNNEL_PROTOCOL_VERSION,
  TunnelCloseCode,
  encodeFrame,
  parseCoreFrame,
  type CoreFrame,
  type EdgeFrameBody,
} from '@hearth/shared';
import { DurableObject } from 'cloudflare:workers';
import { loadConfig } from '../config.js';
import { describeError, log } from '../log.js';
import { sendReply } from '../platforms/send-reply.js';
import { CORE_ID_HEADER } from '../tunnel/route.js';
import { migrate } from './migrations.js';
import { dueReplies, insertReply, markFailed, markRetry, markSent, nextDueAt } from './outbox.js';
import {
  ackMessage,
  inFlightBySession,
  insertMessage,
  markInFlight,
  releaseOrphans,
  releaseSession,
  selectDeliverable,
  type Envelope,
} from './queue.js';
import { readSession, writeSession, type Session } from './session.js';

/** Outbound sends: exponential backoff from 1 s to 5 min, then the reply is marked failed. */
const SEND_MAX_ATTEMPTS = 10;
const SEND_BACKOFF_BASE_MS = 1_000;
const SEND_BACKOFF_MAX_MS = 300_000;


/**
 * The Relay: the durable queue between platforms and cores. Webhooks `enqueue` (RPC) and are
 * answered once the row is committed; cores hold hibernating WebSockets, receive deliveries up
 * to the window they granted, one per conversation at a time, and ack them; replies pass
 * through an outbox keyed by idempotency key, so each is sent once.
 */
export class Relay extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // Heartbeats are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    migrate(this.sql);
    // After a restart, deliveries held by sockets that no longer exist go back to the queue.
    const live = new Set(this.sessions().map(({ session }) => session.sessionId));
    const released = releaseOrphans(this.sql, live);
    if (released > 0) log('info', 'relay_released_orphans', { count: released });
  }

  /** RPC from the webhook: stores the message; resolves only once it is committed. */
  async enqueue(envelope: Envelope): Promise<{ duplicate: boolean }> {
    const result = insertMessage(this.sql, envelope, Date.now());
    if (!result.duplicate) this.pump();
    return result;
  }

  /** The tunnel upgrade, already authenticated by the worker (which sets the core id header). */
  override async fetch(request: Request): Promise<Response> {
    const coreId = request.headers.get(CORE_ID_HEADER);
    if (!coreId || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected an authenticated WebSocket upgrade', { status: 400 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ['core']);
    const session: Session = { sessionId: crypto.randomUUID(), coreId, window: 0, ready: false };
    writeSession(server, session);
    log('info', 'tunnel_opened', { core_id: coreId, session_id: session.sessionId });
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    try {
      await this.onFrame(ws, data);
    } catch (error) {
      log('error', 'tunnel_frame_failed', { error: describeError(error) });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    // Echo the close frame, else the core sees 1006. 1005/1006 may not be sent on the wire.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    this.onSessionEnd(ws, `closed ${code}`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.onSessionEnd(ws, describeError(error));
  }

  /** Retries of outbound sends. */
  override async alarm(): Promise<void> {
    await this.flushOutbox();
  }

  private async onFrame(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const session = readSession(ws);
    if (!session) return ws.close(1011, 'session state lost');
    const parsed = parseCoreFrame(data);
    if (!parsed.ok && parsed.error instanceof ProtocolMismatchError) return this.refuseVersion(ws, parsed.error.peerVersion);
    if (!parsed.ok) {
      log('warn', 'tunnel_frame_rejected', { session_id: session.sessionId, code: parsed.error.code });
      return this.send(ws, { type: 'error', code: parsed.error.code, message: parsed.error.message, fatal: false });
    }
    const frame = parsed.value;
    if (!session.ready && frame.type !== 'hello' && frame.type !== 'ping') {
      return this.refuse(ws, TunnelCloseCode.ProtocolViolation, 'hello_first', 'the first frame must be hello');
    }
    await this.dispatch(ws, session, frame);
  }

  private async dispatch(ws: WebSocket, session: Session, frame: CoreFrame): Promise<void> {
    switch (frame.type) {
      case 'hello':
        if (frame.core_id !== session.coreId) {
          return this.refuse(ws, TunnelCloseCode.ProtocolViolation, 'core_id_mismatch', 'hello names another core than the token');
        }
        writeSession(ws, { ...session, window: frame.credits, ready: true });
        this.send(ws, { type: 'welcome', session_id: session.sessionId, heartbeat_ms: loadConfig(this.env).heartbeatMs });
        log('info', 'tunnel_ready', { core_id: session.coreId, session_id: session.sessionId, credits: frame.credits });
        return this.pump();
      case 'credit':
        writeSession(ws, { ...session, window: frame.credits });
        return this.pump();
      case 'ack':
        if (!ackMessage(this.sql, frame.message_id, session.sessionId, Date.now())) {
          log('warn', 'ack_ignored', { session_id: session.sessionId, message_id: frame.message_id });
        }
        return this.pump();
      case 'reply': {
        const { duplicate } = insertReply(
          this.sql,
          frame.key,
          { conversationId: frame.conversation_id, inReplyTo: frame.in_reply_to, text: frame.text },
          Date.now(),
        );
        if (duplicate) return log('info', 'reply_duplicate_dropped', { key: frame.key });
        return this.flushOutbox();
      }
      case 'ping':
        return this.send(ws, { type: 'pong' });
      case 'pong':
        return;
    }
  }

  /** Delivers queued messages to ready cores, within each core's window. */
  private pump(): void {
    const inFlight = inFlightBySession(this.sql);
    const slots = this.sessions()
      .filter(({ ws, session }) => session.ready && ws.readyState === WebSocket.OPEN)
      .map((s) => ({ ...s, free: s.session.window - (inFlight.get(s.session.sessionId) ?? 0) }))
      .filter((s) => s.free > 0);
    const capacity = slots.reduce((n, s) => n + s.free, 0);
    if (capacity === 0) return;
    const now = Date.now();
    for (const item of selectDeliverable(this.sql, capacity)) {
      // Spread: the core with the most free credits takes the next conversation.
      const slot = slots.reduce((a, b) => (b.free > a.free ? b : a));
      if (slot.free <= 0) break;
      markInFlight(this.sql, item.seq, slot.session.sessionId, now);
      slot.free--;
      this.send(slot.ws, {
        type: 'deliver',
        message_id: item.message_id,
        conversation_id: item.conversation_id,
        attempt: item.attempts + 1,
        sealed: item.sealed,
      });
    }
  }

  private onSessionEnd(ws: WebSocket, why: string): void {
    const session = readSession(ws);
    if (!session) return;
    const released = releaseSession(this.sql, session.sessionId);
    log('info', 'tunnel_closed', { core_id: session.coreId, session_id: session.sessionId, why, released });
    this.pump();
  }

  /** Sends due replies; one loop at a time, so a reply is never being sent twice at once. */
  private flushOutbox(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        do {
          this.flushAgain = false;
          await this.sendDueReplies();
        } while (this.flushAgain);
        const due = nextDueAt(this.sql);
        if (due !== undefined) await this.ctx.storage.setAlarm(Math.max(due, Date.now()));
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  private async sendDueReplies(): Promise<void> {
    const config = loadConfig(this.env);
    for (const row of dueReplies(this.sql, Date.now())) {
      const outcome = await sendReply(config, row);
      const fields = { key: row.key, conversation_id: row.conversationId, attempt: row.attempts + 1 };
      if (outcome.ok) {
        markSent(this.sql, row.key, Date.now());
        log('info', 'reply_sent', fields);
      } else if (!outcome.retryable || row.attempts + 1 >= SEND_MAX_ATTEMPTS) {
        markFailed(this.sql, row.key, Date.now(), outcome.description);
        log('error', 'reply_failed', { ...fields, status: outcome.status, error: outcome.description });
      } else {
        const backoff = Math.min(SEND_BACKOFF_MAX_MS, SEND_BACKOFF_BASE_MS * 2 ** row.attempts);
        const delay = Math.max(backoff * (0.5 + Math.random() / 2), outcome.retryAfterMs ?? 0);
        markRetry(this.sql, row.key, Date.now() + delay, outcome.description);
        log('warn', 'reply_retry', { ...fields, status: outcome.status, delay_ms: Math.round(delay) });
      }
    }
  }

  private refuseVersion(ws: WebSocket, coreVersion: number): void {
    const upgrade = coreVersion > TUNNEL_PROTOCOL_VERSION ? 'the edge (wrangler deploy)' : 'the core (hearth)';
    this.refuse(
      ws,
      TunnelCloseCode.ProtocolMismatch,
      'protocol_mismatch',
      `edge speaks tunnel protocol v${TUNNEL_PROTOCOL_VERSION}, core v${coreVersion}: upgrade ${upgrade}`,
    );
  }

  private refuse(ws: WebSocket, closeCode: number, code: string, message: string): void {
    log('warn', 'tunnel_refused', { code, message });
    this.send(ws, { type: 'error', code, message, fatal: true });
    ws.close(closeCode, code);
  }

  private send(ws: WebSocket, frame: EdgeFrameBody): void {
    try {
      ws.send(encodeFrame(frame));
    } catch (error) {
      // The socket is closing; its close handler returns what it held to the queue.
      log('warn', 'tunnel_send_failed', { type: frame.type, error: describeError(error) });
    }
  }

  private sessions(): { ws: WebSocket; session: Session }[] {
    return this.ctx.getWebSockets('core').flatMap((ws) => {
      const session = readSession(ws);
      return session ? [{ ws, session }] : [];
    });
  }
}
