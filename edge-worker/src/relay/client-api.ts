import {
  ApiConversationSchema,
  COMPLETION_CONVERSATION_PREFIX,
  ClientSendSchema,
  encodeCursor,
  isStopCommand,
  parseApiConversationId,
  seal,
  type ClientEvent,
  type HistoryItem,
  type HistoryQuery,
  type HistoryResultFrame,
  type ReplyButtons,
} from '@hearth/shared';
import { composeApiMessage, userItemOf } from '../api/compose.js';
import { refusalResponse, type Refusal } from '../api/errors.js';
import type { EdgeConfig } from '../config.js';
import { log } from '../log.js';
import { ClientAdmission } from './client-admission.js';
import { CLIENT_TAG, ClientHub, SubscriberSchema, type HistoryAnswer, type Subscriber } from './clients.js';
import type { CompletionStreams } from './completions.js';
import type { CoreSockets } from './core-sockets.js';
import type { RelayCounters } from './counters.js';
import { connectedModels, type ConnectedModels } from './core-models.js';
import type { Delivery } from './delivery.js';
import { EmbedRequests } from './embed-requests.js';
import { HistoryAsks } from './history-asks.js';
import { askInRelay, type AskAnswer } from './mcp-asks.js';
import { NoteSearches } from './note-searches.js';
import { OwnerTools } from './owner-tools.js';
import { conversationOf, type EnqueueOutcome, type Envelope } from './queue.js';
import type { QueueIndex } from './queue-index.js';
import { revokeToken } from './revocations.js';
import { UnansweredMessages } from './unanswered.js';
import { CLIENT_HEADER, type RelayRoute } from './internal-headers.js';

/** A user message's announcement to the user's devices, once it is stored. */
export interface Announcement {
  user: string;
  item: HistoryItem;
}

/** A reply or push in an API conversation, as its user's devices are shown it. */
export interface AnnouncedReply {
  key: string;
  inReplyTo: string | null;
  text: string;
  /** When the core stored it (its history's cursor); else now. */
  createdAt?: number | undefined;
  buttons?: ReplyButtons | undefined;
  push?: boolean;
}

/** The Relay's parts the client API works with. */
export interface ClientApiDeps {
  ctx: DurableObjectState;
  sql: SqlStorage;
  queue: QueueIndex;
  counters: RelayCounters;
  config: () => EdgeConfig;
  cores: CoreSockets;
  /** Messages from clients are queued and delivered as webhooks' are. */
  delivery: Delivery;
  /** Completions in progress: ended on ack, noticed on redelivery (the tunnel and the pump see them too). */
  completions: CompletionStreams;
}

/**
 * The Relay's side of the client API: admission (revocation, rate limits), history asked of a
 * core, live streams of each user's devices, and chat completions waited on by their caller.
 * The Relay owns the queue and the tunnels; this owns what API clients see of them.
 */
export class ClientApi {
  private readonly completions: CompletionStreams;
  /** Embedding requests sent to cores, waiting for their vectors. */
  readonly embeddings: EmbedRequests;
  /** MCP note searches sent to cores, waiting for their hits. */
  readonly notes: NoteSearches;
  /** MCP calls of the owner's exposed tools sent to cores, waiting for their answers. */
  readonly ownerTools: OwnerTools;
  private readonly clients: ClientHub;
  private readonly historyAsks: HistoryAsks;
  private readonly admission: ClientAdmission;
  /** Announced messages no core has answered yet: their history does not hold them yet. */
  private readonly unanswered = new UnansweredMessages();

  constructor(private readonly deps: ClientApiDeps) {
    const { ctx, cores } = deps;
    this.completions = deps.completions;
    this.historyAsks = new HistoryAsks({ cores, config: deps.config, unanswered: this.unanswered });
    this.admission = new ClientAdmission(deps);
    this.clients = new ClientHub(ctx, (user, query, options) => this.history(user, query, options));
    this.embeddings = new EmbedRequests({
      cores: () => cores.openAnswering(),
      send: (ws, frame) => cores.send(ws, frame),
      // A caller on the line waits for the home machine as for a completion.
      timeoutMs: () => this.deps.config().api.completionTimeoutMs,
    });
    this.notes = new NoteSearches({
      cores: () => cores.openAnswering(),
      send: (ws, frame) => cores.send(ws, frame),
      timeoutMs: () => this.deps.config().api.historyTimeoutMs,
    });
    this.ownerTools = new OwnerTools({
      cores: () => cores.openAnswering(),
      send: (ws, frame) => cores.send(ws, frame),
      // A tool may take as long as a model's answer (an MCP server's call, a plugin's fetch).
      timeoutMs: () => this.deps.config().api.completionTimeoutMs,
    });
  }

  /** Whether a hibernating socket is an API client's (else a core's tunnel). */
  isClientSocket(ws: WebSocket): boolean {
    return this.deps.ctx.getTags(ws).includes(CLIENT_TAG);
  }

  /** Admits one request of a verified client token (revocation, rate limits): see ClientAdmission. */
  admit(client: { user: string; tokenKey: string; jti: string | undefined }): { ok: true } | Refusal {
    return this.admission.admit(client);
  }

  /** A user's history, asked of a connected core: see HistoryAsks. */
  history(user: string, query: HistoryQuery, options: { waitForCore?: boolean } = {}): Promise<HistoryAnswer> {
    return this.historyAsks.ask(user, query, options);
  }

  /** A core that answers history said hello: whoever waits for one goes on. */
  coreConnected(): void {
    this.historyAsks.coreConnected();
    this.clients.coreConnected();
  }

  /** A core's answer to a history request. */
  onHistoryResult(frame: HistoryResultFrame): void {
    this.historyAsks.onResult(frame);
  }

  /** A tunnel ended: the requests sent on it will not be answered. */
  sessionEnded(sessionId: string): void {
    this.historyAsks.sessionEnded(sessionId);
    this.embeddings.sessionEnded(sessionId);
    this.notes.sessionEnded(sessionId);
    this.ownerTools.sessionEnded(sessionId);
  }

  /** The models connected cores answer with, once each, for `GET /v1/models` and matching `model`. */
  models(): ConnectedModels {
    return connectedModels(this.deps.cores.openAnswering());
  }

  /** The owner revoked a client token: refuse it from now on, and end the streams it opened. */
  revokeToken(jti: string, expiresAtMs: number, now: number): { revoked: boolean; closed: number } {
    return { revoked: revokeToken(this.deps.sql, jti, expiresAtMs, now), closed: this.clients.closeToken(jti) };
  }

  /** A request the worker passed on for an API client it authenticated (see RELAY_ROUTE_HEADER). */
  async request(route: RelayRoute, request: Request): Promise<Response> {
    const subscriber = SubscriberSchema.safeParse(JSON.parse(request.headers.get(CLIENT_HEADER) ?? 'null'));
    if (!subscriber.success) return new Response('expected an authenticated client', { status: 400 });
    const after = new URL(request.url).searchParams.get('after');
    if (route !== 'completion') {
      const { streamsPerUser: perUser, streamsPerToken: perToken } = this.deps.config().api;
      const refusal = this.clients.streamRefusal(subscriber.data, { perUser, perToken });
      if (refusal) return refusalResponse(refusal);
    }
    switch (route) {
      case 'client-ws':
        return this.clients.acceptSocket(subscriber.data, after, request.headers.get('Sec-WebSocket-Protocol') ?? undefined);
      case 'client-events':
        return this.clients.openEvents(subscriber.data, after);
      case 'completion':
        return this.startCompletion((await request.json()) as Envelope);
    }
  }

  /** A frame from an API client's socket: only `send` (needs chat:write); answered `accepted` or `error`. */
  async onClientFrame(ws: WebSocket, data: string | ArrayBuffer): Promise<void> {
    const subscriber = this.clients.subscriberOf(ws);
    if (!subscriber) return ws.close(1011, 'client state lost');
    const refuse = (code: string, message: string) => this.clients.sendTo(ws, { type: 'error', code, message } satisfies ClientEvent);
    let parsed: ReturnType<typeof ClientSendSchema.safeParse>;
    try {
      parsed = ClientSendSchema.safeParse(JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)));
    } catch {
      return refuse('bad_request', 'frames are JSON');
    }
    if (!parsed.success) return refuse('bad_request', `not a send frame: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    if (!subscriber.canWrite) return refuse('insufficient_scope', 'sending needs the chat:write scope');
    if (subscriber.exp * 1000 <= Date.now()) return ws.close(4401, 'token expired');
    const conversation = ApiConversationSchema.safeParse(parsed.data.conversation_id);
    if (!conversation.success) return refuse('bad_request', conversation.error.issues[0]?.message ?? 'bad conversation id');
    const admitted = this.admit({ user: subscriber.user, tokenKey: subscriber.tokenKey, jti: subscriber.tokenKey });
    if (!admitted.ok) return refuse(admitted.code, admitted.message);
    const { outcome, message } = await this.enqueueFromClient(subscriber, conversation.data, parsed.data.text, parsed.data.client_id);
    if (outcome === 'full') return refuse('queue_full', 'the queue is full; retry later');
    this.clients.sendTo(ws, { type: 'accepted', id: message.message_id, conversation_id: conversation.data, client_id: parsed.data.client_id ?? null });
  }

  /** Streamed reply text, to whoever watches: a completion's caller, or the user's devices. */
  onPartial(messageId: string, seq: number, text: string): void {
    if (this.completions.has(messageId)) {
      this.completions.delta(messageId, text);
      return;
    }
    if (!messageId.startsWith('api:')) return;
    const conversationId = conversationOf(this.deps.sql, messageId);
    const api = conversationId ? parseApiConversationId(conversationId) : undefined;
    if (!api) return;
    this.clients.publish(api.user, { type: 'delta', conversation_id: api.conversation, in_reply_to: messageId, seq, text });
  }

  /** A message was stored: its sender's devices see it. */
  announce({ user, item }: Announcement): void {
    this.unanswered.add(user, item);
    this.clients.publish(user, { type: 'message', item });
  }

  /**
   * A reply in an API conversation, to the user's devices (completions are answered on their own
   * line), with its buttons in one list. A push (`push`: the owner's question during a turn)
   * answers nothing: the message it is about stays unanswered until the turn's reply.
   */
  announceReply(conversationId: string, reply: AnnouncedReply): void {
    const api = parseApiConversationId(conversationId);
    if (!api || api.conversation.startsWith(COMPLETION_CONVERSATION_PREFIX)) return;
    const at = reply.createdAt ?? Date.now();
    if (reply.inReplyTo && !reply.push) this.unanswered.answered(reply.inReplyTo);
    this.clients.publish(api.user, {
      type: 'message',
      item: {
        cursor: encodeCursor({ at, id: reply.key }),
        message_id: reply.key,
        conversation_id: api.conversation,
        role: 'assistant',
        text: reply.text,
        created_at: at,
        in_reply_to: reply.inReplyTo,
        ...(reply.buttons ? { buttons: reply.buttons.flat() } : {}),
      },
    });
  }

  /**
   * Queues a chat completion and streams its reply back to the caller. Refused at once when no
   * core is connected: a caller on the line should not wait for one to come back.
   */
  private async startCompletion(envelope: Envelope): Promise<Response> {
    const refuse = (code: string, message: string) => new Response(`${JSON.stringify({ type: 'error', code, message })}\n`);
    if (this.deps.cores.answering().length === 0) return refuse('core_offline', 'no core is connected to answer; try again when it is');
    const config = this.deps.config();
    const stream = this.completions.start(envelope.message_id, config.api.completionTimeoutMs, (why) => this.dropCompletion(envelope, why));
    const now = Date.now();
    const outcome = this.deps.queue.insert(envelope, now, config.delivery);
    this.deps.counters.add(`completions_${outcome}`);
    if (outcome !== 'stored') {
      this.completions.end(envelope.message_id, { type: 'error', code: outcome === 'full' ? 'queue_full' : 'duplicate', message: `request not queued (${outcome})` });
    } else {
      await this.deps.delivery.queued(now);
    }
    return new Response(stream, { headers: { 'Content-Type': 'application/x-ndjson' } });
  }

  /** MCP `ask`: `text` in the user's API conversation, answered with the reply's text (see mcp-asks.ts). */
  async ask(user: string, conversation: string, text: string): Promise<AskAnswer> {
    const message = composeApiMessage({ user, conversation, text, device: 'mcp', now: Date.now() });
    const sealed = await seal(JSON.stringify(message), this.deps.config().coreKeys);
    return askInRelay(
      {
        completions: this.completions,
        coreConnected: () => this.deps.cores.openAnswering().length > 0,
        enqueue: (envelope, options) => this.enqueue(envelope, options),
        timeoutMs: () => this.deps.config().api.completionTimeoutMs,
      },
      { message_id: message.message_id, conversation_id: message.conversation.id, sealed },
      { announce: { user, item: userItemOf(message, conversation) }, stops: isStopCommand(message) },
    );
  }

  /** Nobody waits for a completion any more: stop its generation and take it out of the queue. */
  private dropCompletion(envelope: Envelope, why: string): void {
    this.deps.delivery.cancelInFlight(envelope.conversation_id);
    this.deps.queue.ack(envelope.message_id, Date.now());
    log('info', 'completion_abandoned', { message_id: envelope.message_id, why });
  }

  /** Seals and queues what a client sent over its socket, announcing it to the user's devices. */
  private async enqueueFromClient(subscriber: Subscriber, conversation: string, text: string, clientId: string | undefined) {
    const message = composeApiMessage({ user: subscriber.user, conversation, text, clientId, device: subscriber.device, now: Date.now() });
    const sealed = await seal(JSON.stringify(message), this.deps.config().coreKeys);
    const envelope = { message_id: message.message_id, conversation_id: message.conversation.id, sealed };
    const announce = { user: subscriber.user, item: userItemOf(message, conversation) };
    const { outcome } = await this.enqueue(envelope, { announce, stops: isStopCommand(message) });
    return { outcome, message };
  }

  /** Queues a message a client sent; its sender's devices see it once it is safely queued, never before. */
  private async enqueue(envelope: Envelope, { announce, stops }: { announce: Announcement; stops: boolean }): Promise<{ outcome: EnqueueOutcome }> {
    const now = Date.now();
    const outcome = this.deps.delivery.store(envelope, now, { stops });
    if (outcome === 'stored') {
      this.announce(announce);
      await this.deps.delivery.queued(now);
    }
    return { outcome };
  }
}
