// The client side of the edge's /v1 API: JSON requests with the bearer token, and the live
// stream over WebSocket with reconnection. No DOM here (see app.js).

/**
 * @typedef {{ cursor: string, message_id: string, conversation_id: string, role: 'user' | 'assistant',
 *   text: string, created_at: number, in_reply_to: string | null, device?: string,
 *   buttons?: { label: string, data: string }[] }} HistoryItem
 * @typedef {{ conversation_id: string, title: string, preview: string, turns: number, updated_at: number }} ConversationSummary
 * @typedef {{ type: 'message', item: HistoryItem }
 *   | { type: 'delta', conversation_id: string, in_reply_to: string, seq: number, text: string }
 *   | { type: 'synced', cursor: string | null }
 *   | { type: 'error', code: string, message: string }} ClientEvent
 */

/** An error answer of the API (`{ ok: false, error: { code, message } }`), or no answer at all (status 0). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {number | undefined} retryAfter seconds, from Retry-After
   */
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** A message as one sentence: with a single full stop. @param {string} text */
const sentence = (text) => `${text.replace(/[\s.]+$/, '')}.`;

/**
 * What an error means for the person at the page: what to tell them, whether they must sign in
 * again (401), and how long to hold off sending (429).
 * @param {unknown} error
 * @returns {{ text: string, signOut: boolean, waitSeconds: number }}
 */
export function explain(error) {
  const plain = { signOut: false, waitSeconds: 0 };
  if (!(error instanceof ApiError)) return { ...plain, text: error instanceof Error ? error.message : String(error) };
  const later = error.retryAfter ? ` Try again in ${error.retryAfter} s.` : '';
  switch (error.status) {
    case 401:
      return { ...plain, signOut: true, text: `Please sign in again: ${error.message}` };
    case 403:
      return { ...plain, text: `Not allowed: ${error.message}` };
    case 429:
      return { ...plain, waitSeconds: error.retryAfter ?? 5, text: `Slow down: ${sentence(error.message)} Try again in ${error.retryAfter ?? 5} s.` };
    case 503:
      // The edge's message already says to retry; what is sent meanwhile waits in its queue.
      if (error.code === 'core_offline') return { ...plain, text: `Your assistant is offline (its core at home is not connected): ${sentence(error.message)}` };
      return { ...plain, text: `The server cannot take this now: ${sentence(error.message)}${later}` };
    default:
      return { ...plain, text: error.message };
  }
}

/**
 * Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); undefined when absent.
 * @param {string | null} value
 */
export function retryAfterSeconds(value) {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * The user a token names (its `sub`), read without verifying it: only to show who is signed in.
 * @param {string} token
 */
export function tokenUser(token) {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
    const sub = JSON.parse(json).sub;
    return typeof sub === 'string' ? sub : undefined;
  } catch {
    return undefined;
  }
}

/** What a person pastes, as a token: trimmed, without a leading "Bearer ". */
export const cleanToken = (/** @type {string} */ text) => text.trim().replace(/^Bearer\s+/i, '');

/**
 * The /v1 routes this page uses.
 * @param {{ token: string, device: string }} options
 */
export function createApi({ token, device }) {
  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   */
  async function request(method, path, body) {
    /** @type {Record<string, string>} */
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json', 'X-Hearth-Device': device };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.', undefined);
    }
    if (response.ok) return response.json();
    let code = `http_${response.status}`;
    let message = response.statusText || `The server answered ${response.status}.`;
    try {
      const answer = await response.json();
      if (answer?.error?.message) {
        code = String(answer.error.code ?? code);
        message = String(answer.error.message);
      }
    } catch {
      // not JSON (a proxy's page): keep the status text
    }
    throw new ApiError(response.status, code, message, retryAfterSeconds(response.headers.get('Retry-After')));
  }

  return {
    /** @returns {Promise<ConversationSummary[]>} most recently active first */
    async conversations() {
      return (await request('GET', '/v1/conversations')).data;
    },
    /**
     * One page of a conversation's turns, oldest first.
     * @param {string} conversationId
     * @param {string | null} after
     * @returns {Promise<{ data: HistoryItem[], has_more: boolean }>}
     */
    messages(conversationId, after, limit = 200) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (after) query.set('after', after);
      return request('GET', `/v1/conversations/${encodeURIComponent(conversationId)}/messages?${query}`);
    },
    /**
     * @param {{ conversation_id: string, text: string, client_id: string }} message
     * @returns {Promise<{ id: string, conversation_id: string, cursor: string }>}
     */
    send(message) {
      return request('POST', '/v1/messages', message);
    },
    /**
     * Rates a reply (the core keeps the user's last rating of it).
     * @param {string} messageId the reply's id (`reply:...`)
     * @param {'up' | 'down'} rating
     * @param {string} clientId the same on a retry, so the server records one press
     */
    rate(messageId, rating, clientId) {
      return request('POST', '/v1/feedback', { message_id: messageId, rating, client_id: clientId });
    },
    /**
     * Presses a button under a message (the owner's Run / Skip of a tool call).
     * @param {string} conversationId
     * @param {string} data the button's `data`
     */
    press(conversationId, data) {
      return request('POST', '/v1/press', { conversation_id: conversationId, data });
    },
  };
}

/** Reconnection delays: 0.5 s doubling to 15 s, each with jitter so devices do not retry in step. */
const backoff = (/** @type {number} */ attempt) => Math.min(15_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);

/**
 * The live stream (`GET /v1/ws`), kept open: after a drop it reconnects with backoff and asks
 * for what it missed (`?after=` the last cursor it saw). Browsers cannot set headers on a
 * WebSocket, so the token travels as a subprotocol; the server selects `hearth.v1`.
 */
export class LiveStream {
  /**
   * @param {{ token: string, cursor: string | null,
   *   onEvent: (event: ClientEvent) => void,
   *   onStatus: (status: 'connecting' | 'catching-up' | 'live' | 'offline', detail?: { retryIn: number, code: number, opened: boolean }) => void,
   *   onCursor: (cursor: string) => void }} options
   */
  constructor(options) {
    this.options = options;
    this.cursor = options.cursor;
    this.attempt = 0;
    /** @type {WebSocket | undefined} */
    this.socket = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.stopped = false;
    this.wake = () => {
      if (!this.stopped && document.visibilityState === 'visible' && this.socket === undefined) this.connectNow();
    };
  }

  start() {
    window.addEventListener('online', this.wake);
    document.addEventListener('visibilitychange', this.wake);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.wake);
    document.removeEventListener('visibilitychange', this.wake);
    clearTimeout(this.timer);
    this.socket?.close(1000, 'signed out');
    this.socket = undefined;
  }

  /** Reconnects at once instead of waiting out the backoff (the network came back). */
  connectNow() {
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    if (this.stopped) return;
    const url = new URL('/v1/ws', location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    if (this.cursor) url.searchParams.set('after', this.cursor);
    this.options.onStatus('connecting');
    const socket = new WebSocket(url, ['hearth.v1', `hearth.bearer.${this.options.token}`]);
    this.socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.attempt = 0;
      this.options.onStatus('catching-up');
    });
    socket.addEventListener('message', (message) => {
      if (typeof message.data !== 'string') return;
      /** @type {ClientEvent} */
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (event.type === 'message') this.advance(event.item.cursor);
      if (event.type === 'synced') {
        if (event.cursor) this.advance(event.cursor);
        this.options.onStatus('live');
      }
      this.options.onEvent(event);
    });
    socket.addEventListener('close', (close) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      if (this.stopped) return;
      const delay = backoff(this.attempt++);
      this.options.onStatus('offline', { retryIn: Math.ceil(delay / 1000), code: close.code, opened });
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  /** @param {string} cursor */
  advance(cursor) {
    this.cursor = cursor;
    this.options.onCursor(cursor);
  }
}
