import { ProtocolMismatchError, TunnelCloseCode, parseCoreFrame, protocolMismatchAdvice, type CoreFrame, type ReplyButtons } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import { describeError, log } from '../log.js';
import { showTyping } from '../platforms/registry.js';
import type { AccessCommands } from './access-commands.js';
import type { ClientApi } from './client-api.js';
import { completionEnd, type CompletionStreams } from './completions.js';
import type { CoreSockets } from './core-sockets.js';
import type { RelayCounters } from './counters.js';
import type { Delivery } from './delivery.js';
import { conversationOf, extendDeadline, releaseSession } from './queue.js';
import type { QueueIndex } from './queue-index.js';
import { RecentTimes } from './recent-times.js';
import type { ReplySender } from './reply-sender.js';
import { readSession, writeSession, type Session } from './session.js';

/** Typing indicators are refreshed at most this often per conversation. */
const TYPING_EVERY_MS = 4_000;

/** The buttons of a reply frame, as an OutboundReply field (absent when there are none). */
const buttonsOf = (reply: { buttons?: ReplyButtons | undefined }): { buttons?: ReplyButtons } =>
  reply.buttons ? { buttons: reply.buttons } : {};

export interface TunnelFramesDeps {
  ctx: DurableObjectState;
  sql: SqlStorage;
  queue: QueueIndex;
  counters: RelayCounters;
  config: () => EdgeConfig;
  cores: CoreSockets;
  delivery: Delivery;
  replies: ReplySender;
  api: ClientApi;
  completions: CompletionStreams;
  access: AccessCommands;
  /** When this object woke: a socket not heard from since then is given that long. */
  wokeAt: number;
}

/** The cores' tunnels: opening, every frame a core sends, and their end (closed or silent). */
export class TunnelFrames {
  /** Last frame seen per session, in memory: after a wake-up, sockets get the benefit of the doubt. */
  private readonly lastSeen = new Map<string, number>();
  /** When each conversation last got a typing indicator (bounded: stale entries go). */
  private readonly lastTyping = new RecentTimes(TYPING_EVERY_MS);

  constructor(private readonly deps: TunnelFramesDeps) {}

  /** Accepts an authenticated core's WebSocket upgrade; its session starts not ready (hello first). */
  open(coreId: string): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.deps.ctx.acceptWebSocket(server, ['core']);
    this.deps.cores.changed();
    const session: Session = { sessionId: crypto.randomUUID(), coreId, window: 0, ready: false, servesHistory: false };
    writeSession(server, session);
    this.lastSeen.set(session.sessionId, Date.now());
    log('info', 'tunnel_opened', { core_id: coreId, session_id: session.sessionId });
    return new Response(null, { status: 101, webSocket: client });
  }

  async onFrame(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const session = readSession(ws);
    if (!session) return ws.close(1011, 'session state lost');
    this.lastSeen.set(session.sessionId, Date.now());
    const parsed = parseCoreFrame(data);
    if (!parsed.ok && parsed.error instanceof ProtocolMismatchError) {
      return this.refuse(ws, TunnelCloseCode.ProtocolMismatch, 'protocol_mismatch', protocolMismatchAdvice('edge', parsed.error.peerVersion));
    }
    if (!parsed.ok) {
      log('warn', 'tunnel_frame_rejected', { session_id: session.sessionId, code: parsed.error.code });
      return this.deps.cores.send(ws, { type: 'error', code: parsed.error.code, message: parsed.error.message, fatal: false });
    }
    const frame = parsed.value;
    if (!session.ready && frame.type !== 'hello' && frame.type !== 'ping') {
      return this.refuse(ws, TunnelCloseCode.ProtocolViolation, 'hello_first', 'the first frame must be hello');
    }
    await this.dispatchFrame(ws, session, frame);
  }

  /** A tunnel ended: what it held goes back to the queue, and its pending requests are answered. */
  ended(ws: WebSocket, why: string): void {
    const { sql, queue, cores, api, delivery } = this.deps;
    cores.changed();
    const session = readSession(ws);
    if (!session) return;
    this.lastSeen.delete(session.sessionId);
    const released = releaseSession(sql, session.sessionId);
    if (released > 0) queue.reload();
    api.sessionEnded(session.sessionId);
    log('info', 'tunnel_closed', { core_id: session.coreId, session_id: session.sessionId, why, released });
    delivery.pump();
  }

  /** A core that sent nothing, not even a heartbeat, for the silence limit is dropped. */
  dropSilent(now: number): void {
    const { silenceMs } = this.deps.config().delivery;
    for (const { ws, session } of this.deps.cores.list()) {
      const autoPong = this.deps.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const heard = Math.max(this.lastSeen.get(session.sessionId) ?? this.deps.wokeAt, autoPong);
      if (now - heard <= silenceMs) continue;
      log('warn', 'tunnel_silent', { core_id: session.coreId, session_id: session.sessionId, silent_ms: now - heard });
      try {
        ws.close(TunnelCloseCode.Silent, 'silent');
      } catch {
        // already closing
      }
      this.ended(ws, 'silent');
    }
  }

  private async dispatchFrame(ws: WebSocket, session: Session, frame: CoreFrame): Promise<void> {
    const { ctx, queue, counters, cores, delivery, replies, api, completions } = this.deps;
    const { delivery: limits } = this.deps.config();
    switch (frame.type) {
      case 'hello':
        if (frame.core_id !== session.coreId) {
          return this.refuse(ws, TunnelCloseCode.ProtocolViolation, 'core_id_mismatch', 'hello names another core than the token');
        }
        writeSession(ws, {
          ...session,
          window: frame.credits,
          ready: true,
          servesHistory: frame.serves_history === true,
          ...(frame.model ? { model: frame.model } : {}),
          ...(frame.models ? { models: frame.models } : {}),
        });
        cores.send(ws, {
          type: 'welcome',
          session_id: session.sessionId,
          heartbeat_ms: limits.heartbeatMs,
          silence_ms: limits.silenceMs,
          ack_timeout_ms: limits.ackTimeoutMs,
        });
        log('info', 'tunnel_ready', { core_id: session.coreId, session_id: session.sessionId, credits: frame.credits, software: frame.software });
        // After the welcome: a core takes history requests only once it is ready.
        if (frame.serves_history) api.coreConnected();
        return delivery.pump();
      case 'credit':
        writeSession(ws, { ...session, window: frame.credits });
        return delivery.pump();
      case 'partial': {
        api.onPartial(frame.message_id, frame.seq, frame.text);
        // Streamed text is progress too (it is not stored: platforms get the whole reply with the
        // ack). It comes several times a second; it moves the deadline only once half of it is
        // gone, so a reply streamed within half the ack timeout costs no storage write.
        const now = Date.now();
        const held = queue.entry(frame.message_id);
        if (held?.deadlineAt && held.deadlineAt - now > limits.ackTimeoutMs / 2) return this.typing(frame.message_id);
        return this.progress(frame.message_id, now + limits.ackTimeoutMs);
      }
      case 'progress':
        return this.progress(frame.message_id, Date.now() + limits.ackTimeoutMs);
      case 'ack': {
        const { reply } = frame;
        const { acked, replied } = ctx.storage.transactionSync(() => {
          const now = Date.now();
          // The reply is kept even when the ack is void (the delivery moved on): it answers the
          // message, and the other core's answer will be the duplicate.
          const target = reply ? this.conversationOf(frame.message_id) : undefined;
          const stored = reply && target
            ? replies.store(reply.key, { conversationId: target, inReplyTo: frame.message_id, text: reply.text, ...buttonsOf(reply) }, now, { createdAt: reply.created_at })
            : false;
          return { acked: queue.ack(frame.message_id, now), replied: stored };
        });
        counters.add(acked ? 'acks' : 'acks_void');
        if (!acked) log('warn', 'ack_ignored', { session_id: session.sessionId, message_id: frame.message_id });
        if (reply && !replied) log('info', 'reply_duplicate_dropped', { key: reply.key });
        completions.end(
          frame.message_id,
          reply ? { type: 'done', ...completionEnd(reply) } : { type: 'error', code: 'core_error', message: 'the core could not answer this request' },
        );
        delivery.pump();
        if (replied) await replies.flush();
        return;
      }
      case 'reply': {
        const stored = replies.store(
          frame.key,
          { conversationId: frame.conversation_id, inReplyTo: frame.in_reply_to, text: frame.text, ...buttonsOf(frame) },
          Date.now(),
          { createdAt: frame.created_at, push: true },
        );
        // Stored now or before: either way the core may forget it.
        cores.send(ws, { type: 'reply_stored', key: frame.key });
        if (!stored) return log('info', 'reply_duplicate_dropped', { key: frame.key });
        return replies.flush();
      }
      case 'history_result':
        return api.onHistoryResult(frame);
      case 'embed_result':
        return api.embeddings.onResult(frame);
      case 'note_search_result':
        return api.notes.onResult(frame);
      case 'owner_tool_result':
        return api.ownerTools.onResult(frame);
      case 'access':
        return this.deps.access.run(ws, session, frame.request_id, frame.command);
      case 'ping':
        return cores.send(ws, { type: 'pong' });
      case 'pong':
        return;
    }
  }

  /** The conversation of a message: from the index while it is pending, else from the table. */
  private conversationOf(messageId: string): string | undefined {
    return this.deps.queue.entry(messageId)?.conversationId ?? conversationOf(this.deps.sql, messageId);
  }

  /** Someone still works on a delivery (see extendDeadline): its deadline moves, the chat shows typing. */
  private progress(messageId: string, deadline: number): void {
    // Not in flight: nothing to extend, and no statement to spend finding that out.
    const held = this.deps.queue.entry(messageId);
    if (!held?.sessionId) return;
    if (!extendDeadline(this.deps.sql, messageId, deadline)) return;
    held.deadlineAt = deadline;
    this.typing(messageId);
  }

  /**
   * "typing…" for the conversation of a message the core is working on, at most once per
   * TYPING_EVERY_MS per conversation (Telegram's indicator lasts about 5 s). Best effort.
   */
  private typing(messageId: string): void {
    const conversationId = this.conversationOf(messageId);
    if (!conversationId) return;
    const now = Date.now();
    if (now - (this.lastTyping.get(conversationId) ?? 0) < TYPING_EVERY_MS) return;
    this.lastTyping.set(conversationId, now);
    showTyping(this.deps.config(), conversationId, messageId).catch((error: unknown) =>
      log('warn', 'typing_failed', { conversation_id: conversationId, error: describeError(error) }),
    );
  }

  private refuse(ws: WebSocket, closeCode: number, code: string, message: string): void {
    log('warn', 'tunnel_refused', { code, message });
    this.deps.cores.send(ws, { type: 'error', code, message, fatal: true });
    ws.close(closeCode, code);
  }
}
