import { EventEmitter } from 'node:events';
import {
  PING,
  PONG,
  ProtocolMismatchError,
  TunnelCloseCode,
  encodeFrame,
  parseEdgeFrame,
  protocolMismatchAdvice,
  signTunnelToken,
  type CancelFrame,
  type CoreFrameBody,
  type CoreKeySet,
  type CoreModel,
  type DeliverFrame,
  type EmbedFrame,
  type NoteSearchFrame,
  type OwnerToolCallFrame,
  type OwnerToolsFrame,
  type HelloFrame,
  type HistoryFrame,
  type ReplyStoredFrame,
  backoffMs,
} from '@hearth/shared';
import WebSocket from 'ws';
import type { Logger } from '../logger.js';
import { tunnelUrl } from './url.js';

/** The heartbeats an edge may announce (its HEARTH_HEARTBEAT_MS range); others are clamped to it. */
const MIN_HEARTBEAT_MS = 200;
const MAX_HEARTBEAT_MS = 300_000;

export interface TunnelClientOptions {
  /** The edge's base URL (http(s) or ws(s)); the tunnel is at `/tunnel`. */
  edgeUrl: string;
  coreId: string;
  keySet: CoreKeySet;
  /** The window to grant on each (re)connect: most unacked deliveries this core takes. */
  credits: number;
  /** How often to ping until the edge says otherwise in its welcome; a peer silent for 2.5 times this is dropped. */
  heartbeatMs: number;
  log: Logger;
  onDeliver: (frame: DeliverFrame) => void;
  /** The sender asked to stop a delivery this core is working on. */
  onCancel?: (frame: CancelFrame) => void;
  /** The Relay stored a `reply` frame (a push) this core sent: it need not be sent again. */
  onReplyStored?: (frame: ReplyStoredFrame) => void;
  /**
   * The edge asks for a user's history; the core answers with one `history_result` of the same
   * `request_id` (see history-answer.ts). Set it only when this core answers from its disk:
   * hello then says `serves_history`, and the edge sends such requests only to cores that do.
   */
  onHistory?: (frame: HistoryFrame) => void;
  /** The model this core answers with, as `GET /v1/models` lists it (said in hello). */
  model?: HelloFrame['model'];
  /** Every model it answers with, chat and embedding (said in hello; `model` stays for older edges). */
  models?: CoreModel[];
  /**
   * The edge asks for embeddings (`POST /v1/embeddings`); the core answers with one
   * `embed_result` of the same `request_id` (see embed-answer.ts). The edge sends them only to
   * a core whose hello lists an embedding model.
   */
  onEmbed?: (frame: EmbedFrame) => void;
  /** An MCP client searches a user's notes (`search_notes`); answered with one `note_search_result` (see mcp-server/note-search-answer.ts). */
  onNoteSearch?: (frame: NoteSearchFrame) => void;
  /** An MCP client lists or calls the owner's exposed tools; answered with one `owner_tool_result` (see mcp-server/owner-tools-answer.ts). */
  onOwnerTools?: (frame: OwnerToolsFrame | OwnerToolCallFrame) => void;
  software?: string;
}

export type TunnelState = 'idle' | 'connecting' | 'ready' | 'stopped';

/** What the edge announced in its welcome. */
export interface TunnelSession {
  sessionId: string;
  heartbeatMs: number;
  silenceMs: number;
  ackTimeoutMs: number;
}

interface TunnelEvents {
  ready: [session: TunnelSession];
  disconnected: [code: number, reason: string];
}

/**
 * The core's outbound WebSocket to the edge. It dials out (nothing listens at home), signs a
 * fresh short-lived JWT for every attempt, says hello with its window, keeps the link alive
 * with heartbeats, and redials with jittered exponential backoff whenever the link drops or
 * goes silent.
 *
 * @example
 * const tunnel = new TunnelClient({ edgeUrl, coreId, keySet, credits: 4, heartbeatMs: 15_000, log, onDeliver });
 * tunnel.start();
 * await once(tunnel, 'ready');
 */
export class TunnelClient extends EventEmitter<TunnelEvents> {
  private socket: WebSocket | undefined;
  private state_: TunnelState = 'idle';
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private disposing: Promise<void> | undefined;
  private lastHeard = 0;

  /** The window now: the options' at first, then whatever `setCredits` said. */
  private credits: number;

  constructor(private readonly options: TunnelClientOptions) {
    super();
    this.credits = options.credits;
  }

  /** The window this core grants now. */
  get currentCredits(): number {
    return this.credits;
  }

  get state(): TunnelState {
    return this.state_;
  }

  get url(): string {
    return tunnelUrl(this.options.edgeUrl);
  }

  start(): void {
    if (this.state_ !== 'idle') return;
    void this.connect();
  }

  /**
   * Changes the window: sent now if the tunnel is up (a `credit` frame, absolute), and said in
   * the hello of every later connection.
   */
  setCredits(credits: number): void {
    if (credits === this.credits) return;
    this.credits = credits;
    this.send({ type: 'credit', credits });
  }

  /** Sends a frame if the tunnel is up; false when it is not (the Relay will redeliver). */
  send(frame: CoreFrameBody): boolean {
    if (this.state_ !== 'ready' || this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(encodeFrame(frame));
    return true;
  }

  /** Closes the tunnel for good; the Relay returns whatever this core held to the queue. Idempotent. */
  dispose(): Promise<void> {
    this.disposing ??= this.close();
    return this.disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private async close(): Promise<void> {
    this.state_ = 'stopped';
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeatTimer);
    const socket = this.socket;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.terminate();
        resolve();
      }, 2_000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.close(1000, 'core stopping');
    });
  }

  private async connect(): Promise<void> {
    if (this.state_ === 'stopped') return;
    this.state_ = 'connecting';
    const { log } = this.options;
    let token: string;
    try {
      token = await signTunnelToken(this.options.keySet, this.options.coreId);
    } catch (error) {
      log.error({ err: error }, 'cannot sign a tunnel token with this core key');
      return this.scheduleReconnect();
    }
    if (this.state_ !== 'connecting') return;
    const socket = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${token}` },
      handshakeTimeout: 10_000,
      maxPayload: 2 * 1024 * 1024,
    });
    this.socket = socket;

    socket.on('open', () => {
      this.lastHeard = Date.now();
      const { heartbeatMs } = this.options;
      this.startHeartbeat(socket, heartbeatMs, Math.round(heartbeatMs * 2.5));
      socket.send(
        encodeFrame({
          type: 'hello',
          core_id: this.options.coreId,
          credits: this.credits,
          ...(this.options.software ? { software: this.options.software } : {}),
          ...(this.options.model ? { model: this.options.model } : {}),
          ...(this.options.models ? { models: this.options.models } : {}),
          ...(this.options.onHistory ? { serves_history: true } : {}),
        }),
      );
    });
    socket.on('message', (data, isBinary) => {
      this.lastHeard = Date.now();
      const text = isBinary ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      this.onMessage(socket, text);
    });
    socket.on('unexpected-response', (_req, res) => {
      const hint =
        res.statusCode === 401
          ? ': the edge does not accept this core key; give it the public key from `npx hearth keygen` as HEARTH_CORE_JWKS'
          : '';
      log.error({ status: res.statusCode, url: this.url }, `edge refused the tunnel (HTTP ${res.statusCode})${hint}`);
      res.resume();
      socket.terminate();
    });
    socket.on('error', (error) => log.warn({ err: error.message, url: this.url }, 'tunnel error'));
    socket.on('close', (code, reasonBuffer) => {
      const reason = reasonBuffer.toString();
      clearInterval(this.heartbeatTimer);
      if (this.socket === socket) this.socket = undefined;
      const wasReady = this.state_ === 'ready';
      if (this.state_ !== 'stopped') this.state_ = 'connecting';
      if (wasReady) log.warn({ code, reason }, 'tunnel disconnected');
      this.emit('disconnected', code, reason);
      if (code === TunnelCloseCode.ProtocolMismatch) {
        // Redialling will not help until one side upgrades; keep trying, slowly.
        this.attempt = Math.max(this.attempt, 10);
      }
      this.scheduleReconnect();
    });
  }

  private onMessage(socket: WebSocket, text: string): void {
    const { log } = this.options;
    const parsed = parseEdgeFrame(text);
    if (!parsed.ok && parsed.error instanceof ProtocolMismatchError) {
      log.error({ edgeVersion: parsed.error.peerVersion }, protocolMismatchAdvice('core', parsed.error.peerVersion));
      socket.close(TunnelCloseCode.ProtocolMismatch, 'protocol_mismatch');
      return;
    }
    if (!parsed.ok) {
      log.warn({ code: parsed.error.code }, parsed.error.message);
      return;
    }
    const frame = parsed.value;
    switch (frame.type) {
      case 'welcome': {
        this.state_ = 'ready';
        this.attempt = 0;
        // The edge's heartbeat wins, so both sides judge silence alike.
        this.startHeartbeat(socket, frame.heartbeat_ms, frame.silence_ms);
        const session = { sessionId: frame.session_id, heartbeatMs: frame.heartbeat_ms, silenceMs: frame.silence_ms, ackTimeoutMs: frame.ack_timeout_ms };
        log.info({ ...session, edge: this.options.edgeUrl, credits: this.credits }, 'tunnel connected');
        this.emit('ready', session);
        return;
      }
      case 'deliver':
        this.options.onDeliver(frame);
        return;
      case 'cancel':
        this.options.onCancel?.(frame);
        return;
      case 'reply_stored':
        this.options.onReplyStored?.(frame);
        return;
      case 'history':
        if (this.options.onHistory) this.options.onHistory(frame);
        // A core that does not serve history still answers, so the edge does not wait it out.
        else this.send({ type: 'history_result', request_id: frame.request_id, ok: false, error: 'this core does not serve history' });
        return;
      case 'embed':
        if (this.options.onEmbed) this.options.onEmbed(frame);
        else this.send({ type: 'embed_result', request_id: frame.request_id, ok: false, error: 'this core does not compute embeddings' });
        return;
      case 'note_search':
        if (this.options.onNoteSearch) this.options.onNoteSearch(frame);
        else this.send({ type: 'note_search_result', request_id: frame.request_id, ok: false, error: 'this core does not search notes' });
        return;
      case 'owner_tools':
      case 'owner_tool_call':
        if (this.options.onOwnerTools) this.options.onOwnerTools(frame);
        else this.send({ type: 'owner_tool_result', request_id: frame.request_id, ok: false, error: "this core does not run the owner's tools" });
        return;
      case 'access_result':
        // Answers to owner commands, which use their own short session (owner-request.ts).
        return;
      case 'ping':
        socket.send(PONG);
        return;
      case 'pong':
        return;
      case 'error':
        log[frame.fatal ? 'error' : 'warn']({ code: frame.code }, `edge: ${frame.message}`);
        return;
    }
  }

  private startHeartbeat(socket: WebSocket, announcedHeartbeatMs: number, announcedSilenceMs: number): void {
    clearInterval(this.heartbeatTimer);
    const { log } = this.options;
    // Within what an edge can be configured with (HEARTH_HEARTBEAT_MS): a timer past 2^31 ms
    // fires every millisecond in Node, and one of 1 ms would flood the link just the same.
    const heartbeatMs = Math.min(Math.max(announcedHeartbeatMs, MIN_HEARTBEAT_MS), MAX_HEARTBEAT_MS);
    const silenceMs = Math.min(Math.max(announcedSilenceMs, heartbeatMs * 2), MAX_HEARTBEAT_MS * 2.5);
    this.heartbeatTimer = setInterval(() => {
      const silentFor = Date.now() - this.lastHeard;
      if (silentFor > silenceMs) {
        // No close frame will come from a dead link: drop it ourselves.
        log.warn({ silentForMs: silentFor }, 'tunnel silent, reconnecting');
        socket.terminate();
        return;
      }
      if (socket.readyState === WebSocket.OPEN) socket.send(PING);
    }, heartbeatMs);
  }

  private scheduleReconnect(): void {
    if (this.state_ === 'stopped') return;
    const delay = backoffMs(this.attempt++, { baseMs: 500, capMs: 30_000, jitter: 'full' });
    this.options.log.debug({ delayMs: delay, attempt: this.attempt }, 'tunnel reconnect scheduled');
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
