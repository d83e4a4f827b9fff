import {
  PING,
  PONG,
  ProtocolMismatchError,
  TunnelCloseCode,
  encodeFrame,
  formatPairingCode,
  normalizePairingCode,
  protocolMismatchAdvice,
  parseCoreFrame,
  type AccessCommand,
  type AccessResultFrame,
  type CoreFrame,
  type EdgeStatus,
  type EdgeFrameBody,
  type ReplyButtons,
  parseApiConversationId,
  type HistoryQuery,
} from '@hearth/shared';
import { DurableObject } from 'cloudflare:workers';
import { type EdgeConfig, loadConfig } from '../config.js';
import { describeError, log } from '../log.js';
import { dispatch, type LiveSession } from './dispatch.js';
import { migrate } from './migrations.js';
import { approveSender, listApproved, listPending, listRefusals, pendingPairings, pruneExpiredPairings, revokeSender, takePairing } from './access-store.js';
import { RelayCounters } from './counters.js';
import { deferReply, dueReplies, insertReply, markFailed, markPartSent, markRetry, markSent, nextDueAt, pruneFinished, unsentCount, type OutboxRow } from './outbox.js';
import { gateSender, type GateOutcome, type PairingGate } from './pairing.js';
import { RecentTimes } from './recent-times.js';
import { SendPacer } from './send-pacing.js';
import {
  conversationOf,
  deadLetterCount,
  expireOlderThan,
  extendDeadline,
  listDeadLetters,
  pruneAcked,
  queueTimes,
  releaseOrphans,
  releaseOverdue,
  releaseSession,
  type DeadLetter,
  type EnqueueOutcome,
  type Envelope,
} from './queue.js';
import { QueueIndex } from './queue-index.js';
import { readSession, writeSession, type Session } from './session.js';
import { adapterOf, showTyping } from '../platforms/registry.js';
import type { OutboundReply } from '../platforms/outbound.js';
import type { Refusal } from '../api/errors.js';
import { ClientApi, type Announcement } from './client-api.js';
import { completionEnd } from './completions.js';
import { CORE_ID_HEADER, RELAY_ROUTE_HEADER, type RelayRoute } from './internal-headers.js';
import type { HistoryAnswer } from './clients.js';
import { pruneRevocations } from './revocations.js';
import { claimCoreToken, pruneSeenCoreTokens } from './seen-core-tokens.js';
import type { ConnectedModels } from './core-models.js';
import type { EmbedAnswer } from './embed-requests.js';
import type { AskAnswer } from './mcp-asks.js';
import type { NoteSearchAnswer } from './note-searches.js';
import type { OwnerToolCallAnswer, OwnerToolsAnswer } from './owner-tools.js';

/** The buttons of a reply frame, as an OutboundReply field (absent when there are none). */
const buttonsOf = (reply: { buttons?: ReplyButtons | undefined }): { buttons?: ReplyButtons } =>
  reply.buttons ? { buttons: reply.buttons } : {};

/** Outbound sends: exponential backoff from 1 s to 5 min, then the reply is marked failed. */
const SEND_MAX_ATTEMPTS = 10;
const SEND_BACKOFF_BASE_MS = 1_000;
const SEND_BACKOFF_MAX_MS = 300_000;
/** Typing indicators are refreshed at most this often per conversation. */
const TYPING_EVERY_MS = 4_000;
/** Answered message ids and sent reply keys are kept this long, to recognise repeats. */
const DEDUPE_WINDOW_MS = 7 * 86_400_000;

/**
 * The Relay: the durable queue between platforms and cores. Webhooks `enqueue` (RPC) and are
 * answered once the row is committed; cores hold hibernating WebSockets and receive
 * deliveries up to the window they granted, one per conversation at a time; replies pass
 * through an outbox keyed by idempotency key, so each is sent once. One alarm drives
 * everything that happens with time: outbound retries, ack deadlines, silent cores, expiry.
 */
export class Relay extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The pending messages, indexed in memory (the table stays the truth). */
  private readonly queue: QueueIndex;
  /** Last frame seen per session, in memory: after a wake-up, sockets get the benefit of the doubt. */
  private readonly lastSeen = new Map<string, number>();
  private readonly wokeAt = Date.now();
  /** When each conversation last got a typing indicator (bounded: stale entries go). */
  private readonly lastTyping = new RecentTimes(TYPING_EVERY_MS);
  private readonly pacer = new SendPacer();
  /** What this object has done since it woke, for `hearth status` (the logs have the detail). */
  private readonly counters = new RelayCounters();
  /** What API clients see: admission, history, their live streams, completions. */
  private readonly api: ClientApi;
  private alarmAt: number | undefined;
  private flushing: Promise<void> | undefined;
  private flushAgain = false;
  /** A pump is due at the end of this turn: several events in one turn share it. */
  private pumpQueued = false;
  /** The cores' sockets, as the runtime lists them; read again after one opens or closes. */
  private coreSockets: WebSocket[] | undefined;

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
    this.queue = new QueueIndex(this.sql);
    this.api = new ClientApi(ctx, {
      sql: this.sql,
      queue: this.queue,
      counters: this.counters,
      config: () => this.config,
      sessions: () => this.sessions(),
      send: (ws, frame) => this.send(ws, frame),
      enqueue: (envelope, options) => this.enqueue(envelope, options),
      cancelInFlight: (conversationId) => this.cancelInFlight(conversationId),
      pump: () => this.pump(),
      needAlarmBy: (at) => this.needAlarmBy(at),
    });
    // A broken configuration must not reset the object (that is what a throw here does);
    // the webhook already answers 503 and logs the variable to fix.
    ctx.blockConcurrencyWhile(() =>
      this.scheduleAlarm().catch((error: unknown) => log('error', 'relay_alarm_not_armed', { error: describeError(error) })),
    );
  }

  // ---- RPC ---------------------------------------------------------------------------------

  /**
   * From the webhook: stores the message; resolves only once it is committed. With a `gate`
   * (the sender must be paired), the message is queued only if the owner approved the sender;
   * otherwise the gate's outcome says what happened instead (see pairing.ts). `stops`: the
   * message is a `/stop`, so the core generating this conversation's reply is told at once
   * (the message itself waits its turn like any other). `press`: it answers a question the core
   * is waiting on (an approval button), and goes in the conversation's press lane (queue.ts).
   */
  async enqueue(
    envelope: Envelope,
    {
      gate,
      stops = false,
      press = false,
      announce,
    }: { gate?: PairingGate | undefined; stops?: boolean; press?: boolean; announce?: Announcement | undefined } = {},
  ): Promise<{ outcome: EnqueueOutcome | Exclude<GateOutcome, 'approved'> }> {
    const now = Date.now();
    if (gate) {
      const gated = this.ctx.storage.transactionSync(() => gateSender(this.sql, gate, envelope, this.config.access, now));
      if (gated.outcome !== 'approved') {
        if (gated.outcome === 'code_sent') {
          log('info', 'pairing_code_issued', { sender: gate.sender, message_id: envelope.message_id });
          for (const old of gated.evicted ?? []) log('warn', 'pairing_code_evicted', { sender: old.sender, source: old.source });
          await this.flushOutbox();
        }
        return { outcome: gated.outcome };
      }
    }
    const outcome = this.queue.insert(envelope, now, this.config.delivery, { press });
    if (outcome === 'full') log('warn', 'queue_full', { message_id: envelope.message_id, max: this.config.delivery.queueMax });
    this.counters.add(`messages_${outcome}`);
    if (outcome === 'stored' && stops) this.cancelInFlight(envelope.conversation_id);
    // The sender's other devices see the message once it is safely queued, never before.
    if (outcome === 'stored' && announce) this.api.announce(announce);
    if (outcome === 'stored') {
      this.pump();
      await this.needAlarmBy(now + this.config.delivery.queueTtlMs);
    }
    return { outcome };
  }

  /** Dead letters, newest first, still sealed: for `hearth dead-letters`. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return listDeadLetters(this.sql, limit);
  }

  /** What `hearth status` shows (over the tunnel), for callers inside the deployment. */
  async stats(): Promise<EdgeStatus> {
    return this.status(Date.now());
  }

  /**
   * Admits a verified core token (tunnel, admin) once: false when its `jti` was used before.
   * Here rather than in the worker because this object runs one event at a time, so two
   * requests racing with one token cannot both be let in.
   */
  async claimCoreToken(token: { jti: string; acceptedUntil: number }): Promise<boolean> {
    const claimed = claimCoreToken(this.sql, token.jti, token.acceptedUntil * 1000, Date.now());
    if (!claimed) this.counters.add('core_token_replays');
    return claimed;
  }

  /** Admits one request of a verified client token (revocation, rate limits): see ClientApi.admit. */
  async admitClient(client: { user: string; tokenKey: string; jti: string | undefined }): Promise<{ ok: true } | Refusal> {
    return this.api.admit(client);
  }

  /** A user's history, asked of a connected core: see ClientApi.history. */
  async history(user: string, query: HistoryQuery): Promise<HistoryAnswer> {
    return this.api.history(user, query);
  }

  /** The models connected cores answer with, for `GET /v1/models` and matching `model`. */
  async models(): Promise<ConnectedModels> {
    return this.api.models();
  }

  /** Embeddings of `input` with the embedding model `model`, computed by a core that has it: see EmbedRequests. */
  async embed(model: string, input: string[]): Promise<EmbedAnswer> {
    return this.api.embeddings.embed(model, input);
  }

  /** MCP `ask`: a turn in the user's API conversation, answered with the reply once the core acks it. */
  async ask(user: string, conversation: string, text: string): Promise<AskAnswer> {
    return this.api.ask(user, conversation, text);
  }

  /** MCP `search_notes`: the user's and the shared notes most like `query`, found by a core's recall. */
  async searchNotes(user: string, query: string, limit: number): Promise<NoteSearchAnswer> {
    return this.api.notes.search(user, query, limit);
  }

  /** MCP `tools/list`: the tools the owner exposes (HEARTH_MCP_EXPOSE), as a core lists them. */
  async ownerTools(user: string): Promise<OwnerToolsAnswer> {
    return this.api.ownerTools.list(user);
  }

  /** MCP `tools/call` of an exposed tool: run at home by a core. */
  async callOwnerTool(user: string, name: string, args: Record<string, unknown>): Promise<OwnerToolCallAnswer> {
    return this.api.ownerTools.call(user, name, args);
  }

  // ---- the tunnel ----------------------------------------------------------------------------

  /** The tunnel upgrade, already authenticated by the worker (which sets the core id header). */
  override async fetch(request: Request): Promise<Response> {
    const route = request.headers.get(RELAY_ROUTE_HEADER) as RelayRoute | null;
    if (route) return this.api.request(route, request);
    const coreId = request.headers.get(CORE_ID_HEADER);
    if (!coreId || request.headers.get('Upgrade')?.toLowerCase() !== 'websocket') {
      return new Response('expected an authenticated WebSocket upgrade', { status: 400 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server, ['core']);
    this.coreSockets = undefined;
    const session: Session = { sessionId: crypto.randomUUID(), coreId, window: 0, ready: false, servesHistory: false };
    writeSession(server, session);
    this.lastSeen.set(session.sessionId, Date.now());
    log('info', 'tunnel_opened', { core_id: coreId, session_id: session.sessionId });
    await this.scheduleAlarm();
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    try {
      if (this.api.isClientSocket(ws)) return await this.api.onClientFrame(ws, data);
      await this.onFrame(ws, data);
    } catch (error) {
      log('error', 'tunnel_frame_failed', { error: describeError(error) });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.coreSockets = undefined;
    // Echo the close frame, else the core sees 1006. 1005/1006 may not be sent on the wire.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    if (this.api.isClientSocket(ws)) return log('info', 'client_stream_closed', { kind: 'ws', code });
    this.onSessionEnd(ws, `closed ${code}`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.coreSockets = undefined;
    if (this.api.isClientSocket(ws)) return;
    this.onSessionEnd(ws, describeError(error));
  }

  override async alarm(): Promise<void> {
    this.alarmAt = undefined;
    await this.sweep(Date.now());
  }

  /**
   * Everything time-driven, as of `now`, then the next alarm: silent cores dropped, overdue
   * deliveries released, expired messages dead-lettered, old dedupe records pruned, due
   * replies sent. The alarm runs it with the clock; tests run it with a later `now`.
   */
  async sweep(now: number): Promise<void> {
    this.dropSilentSessions(now);
    const overdue = releaseOverdue(this.sql, now);
    for (const item of overdue) log('warn', 'ack_deadline_passed', item);
    const expired = this.expireOld(now);
    if (overdue.length > 0 || expired > 0) this.queue.reload();
    pruneAcked(this.sql, now - DEDUPE_WINDOW_MS);
    pruneFinished(this.sql, now - DEDUPE_WINDOW_MS);
    pruneExpiredPairings(this.sql, now);
    pruneRevocations(this.sql, now);
    pruneSeenCoreTokens(this.sql, now);
    this.pump();
    await this.flushOutbox();
    await this.scheduleAlarm();
  }

  private get config(): EdgeConfig {
    return loadConfig(this.env);
  }

  private async onFrame(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const session = readSession(ws);
    if (!session) return ws.close(1011, 'session state lost');
    this.lastSeen.set(session.sessionId, Date.now());
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
    await this.dispatchFrame(ws, session, frame);
  }

  private async dispatchFrame(ws: WebSocket, session: Session, frame: CoreFrame): Promise<void> {
    const { delivery } = this.config;
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
        this.send(ws, {
          type: 'welcome',
          session_id: session.sessionId,
          heartbeat_ms: delivery.heartbeatMs,
          silence_ms: delivery.silenceMs,
          ack_timeout_ms: delivery.ackTimeoutMs,
        });
        log('info', 'tunnel_ready', { core_id: session.coreId, session_id: session.sessionId, credits: frame.credits, software: frame.software });
        // After the welcome: a core takes history requests only once it is ready.
        if (frame.serves_history) this.api.coreConnected();
        return this.pump();
      case 'credit':
        writeSession(ws, { ...session, window: frame.credits });
        return this.pump();
      case 'partial': {
        this.api.onPartial(frame.message_id, frame.seq, frame.text);
        // Streamed text is progress too (it is not stored: platforms get the whole reply with the
        // ack). It comes several times a second; it moves the deadline only once half of it is
        // gone, so a reply streamed within half the ack timeout costs no storage write.
        const now = Date.now();
        const held = this.queue.entry(frame.message_id);
        if (held?.deadlineAt && held.deadlineAt - now > delivery.ackTimeoutMs / 2) return this.typing(frame.message_id);
        return this.progress(frame.message_id, now + delivery.ackTimeoutMs);
      }
      case 'progress':
        return this.progress(frame.message_id, Date.now() + delivery.ackTimeoutMs);
      case 'ack': {
        const { reply } = frame;
        const { acked, replied } = this.ctx.storage.transactionSync(() => {
          const now = Date.now();
          // The reply is kept even when the ack is void (the delivery moved on): it answers the
          // message, and the other core's answer will be the duplicate.
          const target = reply ? this.conversationOf(frame.message_id) : undefined;
          const stored = reply && target
            ? this.storeReply(reply.key, { conversationId: target, inReplyTo: frame.message_id, text: reply.text, ...buttonsOf(reply) }, now, { createdAt: reply.created_at })
            : false;
          return { acked: this.queue.ack(frame.message_id, now), replied: stored };
        });
        this.counters.add(acked ? 'acks' : 'acks_void');
        if (!acked) log('warn', 'ack_ignored', { session_id: session.sessionId, message_id: frame.message_id });
        if (reply && !replied) log('info', 'reply_duplicate_dropped', { key: reply.key });
        this.api.completions.end(
          frame.message_id,
          reply ? { type: 'done', ...completionEnd(reply) } : { type: 'error', code: 'core_error', message: 'the core could not answer this request' },
        );
        this.pump();
        if (replied) await this.flushOutbox();
        return;
      }
      case 'reply': {
        const stored = this.storeReply(
          frame.key,
          { conversationId: frame.conversation_id, inReplyTo: frame.in_reply_to, text: frame.text, ...buttonsOf(frame) },
          Date.now(),
          { createdAt: frame.created_at, push: true },
        );
        // Stored now or before: either way the core may forget it.
        this.send(ws, { type: 'reply_stored', key: frame.key });
        if (!stored) return log('info', 'reply_duplicate_dropped', { key: frame.key });
        return this.flushOutbox();
      }
      case 'history_result':
        return this.api.onHistoryResult(frame);
      case 'embed_result':
        return this.api.embeddings.onResult(frame);
      case 'note_search_result':
        return this.api.notes.onResult(frame);
      case 'owner_tool_result':
        return this.api.ownerTools.onResult(frame);
      case 'access':
        return this.access(ws, session, frame.request_id, frame.command);
      case 'ping':
        return this.send(ws, { type: 'pong' });
      case 'pong':
        return;
    }
  }

  /**
   * Keeps a reply under its idempotency key, once; returns false for a key seen before. Platforms
   * get it through the outbox; API clients on their streams, at once (nothing waits to be sent).
   * `push`: the core sent it unasked (a question during a turn), so it answers no message.
   */
  private storeReply(key: string, reply: OutboundReply, now: number, { createdAt, push = false }: { createdAt?: number | undefined; push?: boolean } = {}): boolean {
    if (insertReply(this.sql, key, reply, now).duplicate) return false;
    if (parseApiConversationId(reply.conversationId)) {
      markSent(this.sql, key, now);
      this.api.announceReply(reply.conversationId, { key, inReplyTo: reply.inReplyTo, text: reply.text, createdAt, buttons: reply.buttons, push });
    }
    return true;
  }

  /** The owner's `hearth pair ...` commands, over the tunnel their core key opened. */
  private async access(ws: WebSocket, session: Session, requestId: string, command: AccessCommand): Promise<void> {
    const now = Date.now();
    const answer = (result: Omit<AccessResultFrame, 'v' | 'type' | 'request_id'>) =>
      this.send(ws, { type: 'access_result', request_id: requestId, ...result });
    switch (command.action) {
      case 'approve': {
        const code = normalizePairingCode(command.code);
        const approved = this.ctx.storage.transactionSync(() => {
          const pairing = takePairing(this.sql, code, now);
          if (!pairing) return undefined;
          approveSender(this.sql, pairing.sender, pairing.name, now);
          const outcome = this.queue.insert(pairing.held, now, this.config.delivery);
          return { pairing, released: outcome === 'stored' };
        });
        if (!approved) {
          log('warn', 'pairing_code_unknown', { core_id: session.coreId });
          return answer({ ok: false, error: `no pending pairing code ${formatPairingCode(code)} (wrong, already used, or expired)` });
        }
        const { pairing, released } = approved;
        log('info', 'sender_paired', { sender: pairing.sender, core_id: session.coreId, released });
        answer({ ok: true, approved: { sender: pairing.sender, ...(pairing.name ? { name: pairing.name } : {}), released } });
        this.pump();
        return this.needAlarmBy(now + this.config.delivery.queueTtlMs);
      }
      case 'revoke': {
        const revoked = revokeSender(this.sql, command.sender);
        log('info', 'sender_revoked', { sender: command.sender, core_id: session.coreId, was_approved: revoked });
        return answer({ ok: true, revoked });
      }
      case 'status':
        return answer({ ok: true, status: this.status(now) });
      case 'revoke_token': {
        const { revoked, closed } = this.api.revokeToken(command.jti, command.expires_at * 1000, now);
        log('info', 'client_token_revoked_by_owner', { jti: command.jti, core_id: session.coreId, streams_closed: closed });
        return answer({ ok: true, token_revoked: revoked });
      }
      case 'list':
        return answer({
          ok: true,
          pending: listPending(this.sql, now).map((p) => ({
            code: formatPairingCode(p.code),
            sender: p.sender,
            ...(p.name ? { name: p.name } : {}),
            expires_at: p.expiresAt,
          })),
          senders: listApproved(this.sql).map((a) => ({ sender: a.sender, ...(a.name ? { name: a.name } : {}), approved_at: a.approvedAt })),
          refusals: listRefusals(this.sql).map((r) => ({ reason: r.reason, count: r.count, since: r.since, last_at: r.lastAt })),
        });
    }
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
    showTyping(this.config, conversationId, messageId).catch((error: unknown) =>
      log('warn', 'typing_failed', { conversation_id: conversationId, error: describeError(error) }),
    );
  }

  private status(now: number): EdgeStatus {
    return {
      pending: this.queue.pending,
      in_flight: this.queue.inFlightTotal(),
      dead_letters: deadLetterCount(this.sql),
      outbox_unsent: unsentCount(this.sql),
      pairing_pending: pendingPairings(this.sql, now),
      cores: this.sessions().map(({ session }) => ({
        core_id: session.coreId,
        window: session.window,
        in_flight: this.queue.inFlightOf(session.sessionId),
      })),
      since: this.wokeAt,
      counters: this.counters.snapshot(),
    };
  }

  /** Tells the core working on a conversation's message to stop (a `/stop` arrived). */
  private cancelInFlight(conversationId: string): void {
    const inFlight = this.queue.heldIn(conversationId);
    if (!inFlight) return;
    const holder = this.sessions().find(({ session }) => session.sessionId === inFlight.sessionId);
    if (!holder) return;
    this.send(holder.ws, { type: 'cancel', message_id: inFlight.messageId });
    log('info', 'generation_cancelled', { message_id: inFlight.messageId, core_id: holder.session.coreId });
  }

  /** The conversation of a message: from the index while it is pending, else from the table. */
  private conversationOf(messageId: string): string | undefined {
    return this.queue.entry(messageId)?.conversationId ?? conversationOf(this.sql, messageId);
  }

  /** Someone still works on a delivery (see extendDeadline): its deadline moves, the chat shows typing. */
  private progress(messageId: string, deadline: number): void {
    // Not in flight: nothing to extend, and no statement to spend finding that out.
    const held = this.queue.entry(messageId);
    if (!held?.sessionId) return;
    if (!extendDeadline(this.sql, messageId, deadline)) return;
    held.deadlineAt = deadline;
    this.typing(messageId);
  }

  /**
   * Delivers queued messages to ready cores at the end of this turn (see dispatch.ts for the
   * rules): the events of one turn (an ack, a credit, a message) share one pass.
   */
  private pump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      try {
        this.pumpNow();
      } catch (error) {
        // Whatever went wrong, the index is rebuilt from the table: the next pump starts from the truth.
        log('error', 'relay_pump_failed', { error: describeError(error) });
        this.queue.reload();
      }
    });
  }

  private pumpNow(): void {
    const ready = this.sessions().filter(({ ws, session }) => session.ready && ws.readyState === WebSocket.OPEN);
    if (ready.length === 0) return;
    const now = Date.now();
    const { delivery } = this.config;
    const { delivered, dead } = dispatch({
      queue: this.queue,
      sessions: ready,
      limits: delivery,
      now,
      deliver: ({ slot, entry, sealed }) => {
        // Attempts count this one already: more than one is a redelivery.
        this.counters.add(entry.attempts > 1 ? 'redeliveries' : 'deliveries');
        // Text of the first attempt already reached the caller: another core would start over.
        if (entry.attempts > 1 && this.api.completions.streamed(entry.messageId)) {
          this.api.completions.end(entry.messageId, { type: 'error', code: 'core_lost', message: 'the core answering this went away; retry the request' });
        }
        this.send(slot.ws, {
          type: 'deliver',
          message_id: entry.messageId,
          conversation_id: entry.conversationId,
          attempt: entry.attempts,
          sealed,
          ...(entry.press ? { press: true as const } : {}),
        });
      },
    });
    for (const item of dead) log('error', 'dead_lettered', { message_id: item.messageId, reason: 'max_attempts', attempts: item.attempts });
    this.counters.add('dead_lettered', dead.length);
    if (delivered > 0) {
      this.needAlarmBy(now + delivery.ackTimeoutMs).catch((error: unknown) =>
        log('error', 'relay_alarm_not_armed', { error: describeError(error) }),
      );
    }
  }

  private onSessionEnd(ws: WebSocket, why: string): void {
    this.coreSockets = undefined;
    const session = readSession(ws);
    if (!session) return;
    this.lastSeen.delete(session.sessionId);
    const released = releaseSession(this.sql, session.sessionId);
    if (released > 0) this.queue.reload();
    this.api.sessionEnded(session.sessionId);
    log('info', 'tunnel_closed', { core_id: session.coreId, session_id: session.sessionId, why, released });
    this.pump();
  }

  /** A core that sent nothing, not even a heartbeat, for the silence limit is dropped. */
  private dropSilentSessions(now: number): void {
    const { silenceMs } = this.config.delivery;
    for (const { ws, session } of this.sessions()) {
      const autoPong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
      const heard = Math.max(this.lastSeen.get(session.sessionId) ?? this.wokeAt, autoPong);
      if (now - heard <= silenceMs) continue;
      log('warn', 'tunnel_silent', { core_id: session.coreId, session_id: session.sessionId, silent_ms: now - heard });
      try {
        ws.close(TunnelCloseCode.Silent, 'silent');
      } catch {
        // already closing
      }
      this.onSessionEnd(ws, 'silent');
    }
  }

  /** Dead-letters messages past the queue TTL, telling their senders when configured to. */
  private expireOld(now: number): number {
    const { queueTtlMs, expiredNotice } = this.config.delivery;
    const expiredRows = expireOlderThan(this.sql, now - queueTtlMs, now);
    for (const expired of expiredRows) {
      log('warn', 'message_expired', expired);
      if (expiredNotice) {
        // Stamped with the clock, not `now`: the notice is due at once.
        const notice = { conversationId: expired.conversation_id, inReplyTo: expired.message_id, text: expiredNotice };
        this.storeReply(`expired:${expired.message_id}`, notice, Date.now());
      }
    }
    return expiredRows.length;
  }

  /**
   * Something needs the alarm by `at`: nothing to do when it is armed for then or sooner (when it
   * rings, the sweep arms it again for whatever is next), else it is armed afresh.
   */
  private needAlarmBy(at: number): Promise<void> {
    if (this.alarmAt !== undefined && this.alarmAt <= at && this.alarmAt > Date.now()) return Promise.resolve();
    return this.scheduleAlarm();
  }

  /** Arms the alarm for the earliest thing that needs time to pass. */
  private async scheduleAlarm(): Promise<void> {
    const { delivery } = this.config;
    const { nextDeadline, oldestPending } = queueTimes(this.sql);
    const candidates = [
      nextDueAt(this.sql),
      nextDeadline,
      oldestPending === null ? null : oldestPending + delivery.queueTtlMs,
      // While cores are connected, look for silent ones once per heartbeat.
      this.ctx.getWebSockets('core').length > 0 ? Date.now() + delivery.heartbeatMs : null,
    ].filter((t): t is number => typeof t === 'number');
    if (candidates.length === 0) return;
    const at = Math.max(Math.min(...candidates), Date.now());
    if (this.alarmAt !== undefined && this.alarmAt <= at && this.alarmAt > Date.now()) return;
    this.alarmAt = at;
    await this.ctx.storage.setAlarm(at);
  }

  /** Sends due replies; one loop at a time, so a reply is never being sent twice at once. */
  private flushOutbox(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        let wakeAt: number | undefined;
        do {
          this.flushAgain = false;
          // A sent reply may unblock the next one of its conversation: go again until quiet.
          for (;;) {
            const pass = await this.sendDueReplies();
            if (pass.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? pass.wakeAt, pass.wakeAt);
            if (!pass.again) break;
          }
        } while (this.flushAgain);
        // Only a reply held back (paced, retried) needs the alarm; a sent one needs nothing more.
        if (wakeAt !== undefined) await this.needAlarmBy(wakeAt);
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /**
   * One pass over due replies, one part each (a long reply goes part by part, resuming after the
   * last part delivered), within the platform's pacing. The heads of different conversations go
   * out together: each conversation's order holds, as only its oldest unsent reply is due.
   * Returns whether another pass may find more (a part or a reply unblocked), and when the
   * earliest reply held back is due again.
   */
  private async sendDueReplies(): Promise<{ again: boolean; wakeAt: number | undefined }> {
    const config = this.config;
    const outcomes = await Promise.all(dueReplies(this.sql, Date.now()).map((row) => this.sendReply(row, config)));
    let again = false;
    let wakeAt: number | undefined;
    for (const outcome of outcomes) {
      if (outcome === 'sent_more') again = true;
      else if (typeof outcome === 'number') wakeAt = Math.min(wakeAt ?? outcome, outcome);
    }
    return { again, wakeAt };
  }

  /** Sends one part of a due reply: `sent_more` when another is due behind it, the time it waits until when held back. */
  private async sendReply(row: OutboxRow, config: EdgeConfig): Promise<'sent' | 'sent_more' | 'failed' | number> {
    const fields = { key: row.key, conversation_id: row.conversationId, attempt: row.attempts + 1 };
    const adapter = adapterOf(config, row.conversationId);
    if (!adapter) {
      markFailed(this.sql, row.key, Date.now(), 'its platform is not set up at this edge');
      log('error', 'reply_failed', { ...fields, error: 'platform not set up' });
      return row.more ? 'sent_more' : 'failed';
    }
    const parts = adapter.parts(row);
    const part = { index: row.partsSent, count: parts.length, text: parts[row.partsSent] ?? '' };
    const wait = this.pacer.wait(adapter.platform, row.conversationId, adapter.pacing(row.conversationId, config), Date.now());
    if (wait > 0) {
      deferReply(this.sql, row.key, Date.now() + wait);
      return Date.now() + wait;
    }
    this.pacer.record(adapter.platform, row.conversationId, Date.now());
    const outcome = await adapter.sendPart(row, part, config);
    const partFields = parts.length > 1 ? { ...fields, part: part.index + 1, parts: parts.length } : fields;
    if (outcome.ok) {
      if (part.index + 1 < parts.length) {
        markPartSent(this.sql, row.key);
        return 'sent_more';
      }
      markSent(this.sql, row.key, Date.now());
      this.counters.add('replies_sent');
      log('info', 'reply_sent', partFields);
      return row.more ? 'sent_more' : 'sent';
    }
    if (!outcome.retryable || row.attempts + 1 >= SEND_MAX_ATTEMPTS) {
      markFailed(this.sql, row.key, Date.now(), outcome.description);
      this.counters.add('replies_failed');
      log('error', 'reply_failed', { ...partFields, status: outcome.status, error: outcome.description });
      return row.more ? 'sent_more' : 'failed';
    }
    const backoff = Math.min(SEND_BACKOFF_MAX_MS, SEND_BACKOFF_BASE_MS * 2 ** row.attempts);
    const delay = Math.max(backoff * (0.5 + Math.random() / 2), outcome.retryAfterMs ?? 0);
    markRetry(this.sql, row.key, Date.now() + delay, outcome.description, outcome.status !== 429);
    this.counters.add(outcome.status === 429 ? 'sends_rate_limited' : 'sends_retried');
    log('warn', 'reply_retry', { ...partFields, status: outcome.status, delay_ms: Math.round(delay) });
    return Date.now() + delay;
  }

  private refuseVersion(ws: WebSocket, coreVersion: number): void {
    this.refuse(ws, TunnelCloseCode.ProtocolMismatch, 'protocol_mismatch', protocolMismatchAdvice('edge', coreVersion));
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

  private sessions(): LiveSession[] {
    this.coreSockets ??= this.ctx.getWebSockets('core');
    return this.coreSockets.flatMap((ws) => {
      const session = readSession(ws);
      return session ? [{ ws, session }] : [];
    });
  }
}
