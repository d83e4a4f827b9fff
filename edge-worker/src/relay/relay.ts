import { PING, PONG, type EdgeStatus, type HistoryQuery } from '@hearth/shared';
import { DurableObject } from 'cloudflare:workers';
import type { Refusal } from '../api/errors.js';
import { type EdgeConfig, loadConfig } from '../config.js';
import { describeError, log } from '../log.js';
import type { ReplyCredential } from '../platforms/outbound.js';
import { AccessCommands } from './access-commands.js';
import { pruneExpiredPairings } from './access-store.js';
import { RelayAlarm } from './alarm.js';
import { ClientApi, type Announcement } from './client-api.js';
import type { HistoryAnswer } from './clients.js';
import { CompletionStreams } from './completions.js';
import { CoreSockets } from './core-sockets.js';
import type { ConnectedModels } from './core-models.js';
import { RelayCounters } from './counters.js';
import { Delivery } from './delivery.js';
import type { EmbedAnswer } from './embed-requests.js';
import { CORE_ID_HEADER, RELAY_ROUTE_HEADER, type RelayRoute } from './internal-headers.js';
import type { AskAnswer } from './mcp-asks.js';
import { migrate } from './migrations.js';
import type { NoteSearchAnswer } from './note-searches.js';
import { pruneFinished } from './outbox.js';
import type { OwnerToolCallAnswer, OwnerToolsAnswer } from './owner-tools.js';
import { gateSender, type GateOutcome, type PairingGate } from './pairing.js';
import { expireOlderThan, listDeadLetters, pruneAcked, releaseOrphans, releaseOverdue, type DeadLetter, type EnqueueOutcome, type Envelope } from './queue.js';
import { QueueIndex } from './queue-index.js';
import { keepReplyContext, pruneReplyContexts } from './reply-contexts.js';
import { keepCredential, pruneCredentials } from './reply-credentials.js';
import { ReplySender } from './reply-sender.js';
import { pruneRevocations } from './revocations.js';
import { claimCoreToken, pruneSeenCoreTokens } from './seen-core-tokens.js';
import { relayStatus, type StatusDeps } from './status.js';
import { TunnelFrames } from './tunnel-frames.js';

/** Answered message ids and sent reply keys are kept this long, to recognise repeats. */
const DEDUPE_WINDOW_MS = 7 * 86_400_000;

/**
 * The Relay: the durable queue between platforms and cores. Webhooks `enqueue` (RPC) and are
 * answered once the row is committed; cores hold hibernating WebSockets and receive
 * deliveries up to the window they granted, one per conversation at a time; replies pass
 * through an outbox keyed by idempotency key, so each is sent once. One alarm drives
 * everything that happens with time: outbound retries, ack deadlines, silent cores, expiry.
 *
 * This class wires the parts, each with what it needs: Delivery (queue in, pump out),
 * ReplySender (the outbox and its send loop), TunnelFrames (the cores' sockets),
 * AccessCommands (the owner's pairing commands), ClientApi (what API clients see).
 */
export class Relay extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  /** The pending messages, indexed in memory (the table stays the truth). */
  private readonly queue: QueueIndex;
  /** What this object has done since it woke, for `hearth status` (the logs have the detail). */
  private readonly counters = new RelayCounters();
  private readonly cores: CoreSockets;
  private readonly alarmClock: RelayAlarm;
  private readonly delivery: Delivery;
  /** What API clients see: admission, history, their live streams, completions. */
  private readonly api: ClientApi;
  private readonly replies: ReplySender;
  private readonly tunnel: TunnelFrames;
  /** What `hearth status` reads. */
  private readonly status: StatusDeps;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const sql = ctx.storage.sql;
    this.sql = sql;
    // Heartbeats are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    migrate(sql);
    this.cores = new CoreSockets(ctx);
    // After a restart, deliveries held by sockets that no longer exist go back to the queue.
    const live = new Set(this.cores.list().map(({ session }) => session.sessionId));
    const released = releaseOrphans(sql, live);
    if (released > 0) log('info', 'relay_released_orphans', { count: released });
    // Wired in dependency order: each part gets the collaborators it uses, and none calls back.
    const { counters, cores } = this;
    const queue = new QueueIndex(sql);
    const config = () => this.config;
    const completions = new CompletionStreams();
    const alarm = new RelayAlarm(ctx, sql, config);
    const delivery = new Delivery({ queue, counters, config, cores, alarm, completions });
    const api = new ClientApi({ ctx, sql, queue, counters, config, cores, delivery, completions });
    const replies = new ReplySender({ sql, counters, config, alarm, api });
    const status: StatusDeps = { sql, queue, cores, counters, since: Date.now() };
    const access = new AccessCommands({ storage: ctx.storage, sql, queue, config, cores, delivery, api, status });
    this.tunnel = new TunnelFrames({ ctx, sql, queue, counters, config, cores, delivery, replies, api, completions, access, wokeAt: status.since });
    this.queue = queue;
    this.alarmClock = alarm;
    this.delivery = delivery;
    this.api = api;
    this.replies = replies;
    this.status = status;
    // A broken configuration must not reset the object (that is what a throw here does);
    // the webhook already answers 503 and logs the variable to fix.
    ctx.blockConcurrencyWhile(() =>
      alarm.arm().catch((error: unknown) => log('error', 'relay_alarm_not_armed', { error: describeError(error) })),
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
   * `context`: what its platform needs to answer it, sealed by the edge (see reply-contexts.ts),
   * kept with it whatever the gate says (a pairing notice answers it too).
   * `credential`: what its replies must be sent with (kept first: a pairing notice needs it too).
   */
  async enqueue(
    envelope: Envelope,
    {
      gate,
      stops = false,
      press = false,
      announce,
      context,
      credential,
    }: { gate?: PairingGate | undefined; stops?: boolean; press?: boolean; announce?: Announcement | undefined; context?: string | undefined; credential?: ReplyCredential | undefined } = {},
  ): Promise<{ outcome: EnqueueOutcome | Exclude<GateOutcome, 'approved'> }> {
    const now = Date.now();
    if (context) keepReplyContext(this.sql, envelope.message_id, envelope.conversation_id, context, now);
    if (credential) keepCredential(this.sql, envelope.message_id, credential);
    if (gate) {
      const gated = this.ctx.storage.transactionSync(() => gateSender(this.sql, gate, envelope, this.config.access, now));
      if (gated.outcome !== 'approved') {
        if (gated.outcome === 'code_sent') {
          log('info', 'pairing_code_issued', { sender: gate.sender, message_id: envelope.message_id });
          for (const old of gated.evicted ?? []) log('warn', 'pairing_code_evicted', { sender: old.sender, source: old.source });
          await this.replies.flush();
        }
        return { outcome: gated.outcome };
      }
    }
    const outcome = this.delivery.store(envelope, now, { press, stops });
    if (outcome === 'stored') {
      // The sender's other devices see the message once it is safely queued, never before.
      if (announce) this.api.announce(announce);
      await this.delivery.queued(now);
    }
    return { outcome };
  }

  /** Dead letters, newest first, still sealed: for `hearth dead-letters`. */
  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return listDeadLetters(this.sql, limit);
  }

  /** What `hearth status` shows (over the tunnel), for callers inside the deployment. */
  async stats(): Promise<EdgeStatus> {
    return relayStatus(this.status, Date.now());
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
    const upgraded = this.tunnel.open(coreId);
    await this.alarmClock.arm();
    return upgraded;
  }

  override async webSocketMessage(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    try {
      if (this.api.isClientSocket(ws)) return await this.api.onClientFrame(ws, data);
      await this.tunnel.onFrame(ws, data);
    } catch (error) {
      log('error', 'tunnel_frame_failed', { error: describeError(error) });
    }
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.cores.changed();
    // Echo the close frame, else the core sees 1006. 1005/1006 may not be sent on the wire.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
    if (this.api.isClientSocket(ws)) return log('info', 'client_stream_closed', { kind: 'ws', code });
    this.tunnel.ended(ws, `closed ${code}`);
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.cores.changed();
    if (this.api.isClientSocket(ws)) return;
    this.tunnel.ended(ws, describeError(error));
  }

  override async alarm(): Promise<void> {
    this.alarmClock.rang();
    await this.sweep(Date.now());
  }

  /**
   * Everything time-driven, as of `now`, then the next alarm: silent cores dropped, overdue
   * deliveries released, expired messages dead-lettered, old dedupe records pruned, due
   * replies sent. The alarm runs it with the clock; tests run it with a later `now`.
   */
  async sweep(now: number): Promise<void> {
    this.tunnel.dropSilent(now);
    const overdue = releaseOverdue(this.sql, now);
    for (const item of overdue) log('warn', 'ack_deadline_passed', item);
    const expired = this.expireOld(now);
    if (overdue.length > 0 || expired > 0) this.queue.reload();
    pruneAcked(this.sql, now - DEDUPE_WINDOW_MS);
    pruneFinished(this.sql, now - DEDUPE_WINDOW_MS);
    // A reply context outlives its message's longest wait (pairing, then the queue) by the dedupe window, for pushes.
    pruneReplyContexts(this.sql, now - this.config.access.pairingTtlMs - this.config.delivery.queueTtlMs - DEDUPE_WINDOW_MS);
    pruneExpiredPairings(this.sql, now);
    pruneRevocations(this.sql, now);
    pruneSeenCoreTokens(this.sql, now);
    pruneCredentials(this.sql, now);
    this.delivery.pump();
    await this.replies.flush();
    await this.alarmClock.arm();
  }

  private get config(): EdgeConfig {
    return loadConfig(this.env);
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
        this.replies.store(`expired:${expired.message_id}`, notice, Date.now());
      }
    }
    return expiredRows.length;
  }
}
