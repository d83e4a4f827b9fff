import {
  encodeFrame,
  parseCoreKeySet,
  parseEdgeFrame,
  signTunnelToken,
  type CoreFrameBody,
  type CoreKeySet,
  type EdgeFrame,
  type Message,
  seal,
} from '@hearth/shared';
import { SELF, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { inject } from 'vitest';
import type { Relay } from '../src/relay/relay.js';
import { relayFor } from '../src/relay/stub.js';
import { CORE_ID_HEADER } from '../src/relay/internal-headers.js';

let relays = 0;
/** A fresh Relay object: nothing left over from another test can be delivered to its tunnels. */
export function freshRelay(prefix = 'test') {
  const name = `${prefix}-${++relays}-${crypto.randomUUID()}`;
  return { name, stub: env.RELAY.get(env.RELAY.idFromName(name)) };
}
export type RelayStub = ReturnType<typeof freshRelay>['stub'];

/** The `n`th normalized text message of Telegram chat `chatId`. */
export function chatMessage(chatId: number, n: number, text = `message ${n}`): Message {
  return {
    message_id: `telegram:${chatId}:${n}`,
    platform: 'telegram',
    conversation: { id: `telegram:${chatId}`, type: 'private' },
    sender: { id: `telegram:${chatId}` },
    content: { text, attachments: [], entities: [] },
    reply_to: null,
    timestamp: 1_764_000_000 + n,
  };
}

/** Queues a message in a Relay as the webhook would (sealed to the core key); returns the outcome. */
export async function enqueue(stub: RelayStub, m: Message) {
  const sealed = await seal(JSON.stringify(m), coreKeys());
  return (await stub.enqueue({ message_id: m.message_id, conversation_id: m.conversation.id, sealed })).outcome;
}

export interface StoredRow {
  message_id: string;
  conversation_id: string;
  sealed: string;
  seq: number;
}

/** The rows the deployment's Relay committed for these message ids, in arrival order. */
export function storedRows(...messageIds: string[]): Promise<StoredRow[]> {
  return runInDurableObject(relayFor(env), (_relay, state) =>
    state.storage.sql
      .exec<{ message_id: string; conversation_id: string; sealed: string; seq: number }>(
        `SELECT message_id, conversation_id, sealed, seq FROM messages WHERE message_id IN (${messageIds.map(() => '?').join(',')}) ORDER BY seq`,
        ...messageIds,
      )
      .toArray(),
  );
}

export const coreKeys = (): CoreKeySet => parseCoreKeySet(inject('corePrivateJwks'), 'corePrivateJwks', true);

let nextUpdateId = Math.floor(Math.random() * 1e6);
/** A Telegram update carrying a private text message, shaped like the Bot API's. */
export function textUpdate(chatId: number, text: string, messageId = ++nextUpdateId) {
  return {
    update_id: ++nextUpdateId,
    message: {
      message_id: messageId,
      date: 1_764_000_000,
      chat: { id: chatId, type: 'private', first_name: 'Ada' },
      from: { id: chatId, is_bot: false, first_name: 'Ada', last_name: 'Lovelace', language_code: 'en' },
      text,
    },
  };
}

/** POSTs a body to the Telegram webhook through the real app (`SELF`). */
export function postWebhook(body: unknown, secret: string | null = inject('webhookSecret')) {
  return SELF.fetch('https://edge.test/webhooks/telegram', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'X-Telegram-Bot-Api-Secret-Token': secret }) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** The calls the fake Bot API recorded (it runs in Node; we are in workerd). */
export async function telegramCalls(): Promise<{ method: string; body: Record<string, unknown>; at: number }[]> {
  return (await fetch(`${inject('telegramApiBase')}/__calls`)).json();
}

/** Scripts the fake Bot API: the next `count` calls for `chatId` fail like Telegram does. */
export async function failTelegram(failure: { chatId: string; status: number; description: string; retryAfter?: number; count?: number }) {
  const response = await fetch(`${inject('telegramApiBase')}/__fail`, { method: 'POST', body: JSON.stringify(failure) });
  if (!response.ok) throw new Error(`fake Telegram API refused the failure script: ${response.status}`);
}

/** Waits until a Relay has stored the reply with this key (see TestTunnel: frames are not ordered here). */
export function replyStored(stub: DurableObjectStub<Relay>, key: string): Promise<true> {
  return waitFor(
    () =>
      runInDurableObject(stub, (_relay, state) =>
        state.storage.sql.exec('SELECT 1 FROM outbox WHERE key = ?', key).toArray().length > 0 ? (true as const) : undefined,
      ),
    `reply ${key} stored`,
  );
}

/**
 * Waits until a Relay sent (or gave up on) every reply it stored. A reply stored by mistake
 * (a duplicate) stays unsent until its call reached the platform, so counting calls after
 * this catches a late duplicate, where counting after a pause would not.
 */
export function repliesSettled(stub: DurableObjectStub<Relay>): Promise<true> {
  return waitFor(async () => ((await stub.stats()).outbox_unsent === 0 ? (true as const) : undefined), 'every stored reply sent');
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A core's end of the tunnel, driven by hand. Frames are queued as they arrive; `next` takes
 * them in order. Frames sent back to back may reach the Relay out of order here (the test
 * pool's in-isolate sockets; real sockets keep their order), so a frame whose meaning depends
 * on an earlier one is sent once that one's effect is seen: `ack`, `credit` and `progress`
 * send and wait for it. `barrier` sends a ping the Relay must process itself (not the
 * auto-response): when its pong arrives, every frame the Relay sent before it is already
 * queued here. It says nothing about frames sent before it having been processed.
 */
export class TestTunnel {
  private readonly frames: EdgeFrame[] = [];
  private wake: (() => void) | undefined;
  closed: { code: number; reason: string } | undefined;
  /** From the welcome, once `hello` returned. */
  sessionId: string | undefined;

  private constructor(
    readonly ws: WebSocket,
    /** The Relay object this tunnel is open to. */
    readonly relay: RelayStub,
  ) {
    ws.addEventListener('message', (event) => {
      const parsed = parseEdgeFrame(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data));
      if (!parsed.ok) throw parsed.error;
      this.frames.push(parsed.value);
      this.wake?.();
    });
    ws.addEventListener('close', (event) => {
      this.closed = { code: event.code, reason: event.reason };
      this.wake?.();
    });
  }

  /** Opens a tunnel through the worker's `/tunnel` route with a token signed by `keys`. */
  static async viaRoute(coreId = 'core-a', keys = coreKeys(), headers: Record<string, string> = {}): Promise<TestTunnel> {
    const response = await SELF.fetch('https://edge.test/tunnel', {
      headers: { ...headers, Upgrade: 'websocket', Authorization: `Bearer ${await signTunnelToken(keys, coreId)}` },
    });
    return TestTunnel.accept(response, relayFor(env));
  }

  /** Opens a tunnel straight to a Relay object (a unique one per test), as the route would. */
  static async toRelay(relayName: string, coreId = 'core-a'): Promise<TestTunnel> {
    const stub = env.RELAY.get(env.RELAY.idFromName(relayName));
    const response = await stub.fetch('https://relay/tunnel', { headers: { Upgrade: 'websocket', [CORE_ID_HEADER]: coreId } });
    return TestTunnel.accept(response, stub);
  }

  private static accept(response: Response, relay: RelayStub): TestTunnel {
    const ws = response.webSocket;
    if (response.status !== 101 || !ws) throw new Error(`tunnel upgrade failed: ${response.status}`);
    ws.accept();
    return new TestTunnel(ws, relay);
  }

  send(frame: CoreFrameBody): void {
    this.ws.send(encodeFrame(frame));
  }

  /** Says hello with a window and waits for the welcome. */
  async hello(credits: number, coreId = 'core-a'): Promise<void> {
    this.send({ type: 'hello', core_id: coreId, credits });
    this.sessionId = (await this.next('welcome')).session_id;
  }

  /** Acks (with a reply, if given) and waits until the Relay counted it, as acked or as void. */
  async ack(messageId: string, reply?: { key: string; text: string }): Promise<void> {
    const before = await this.acksCounted();
    this.send({ type: 'ack', message_id: messageId, ...(reply ? { reply } : {}) });
    await waitFor(async () => ((await this.acksCounted()) > before ? true : undefined), `the ack of ${messageId}`);
  }

  /** Sets the window and waits until this session has it. */
  async credit(credits: number): Promise<void> {
    this.send({ type: 'credit', credits });
    await waitFor(async () => ((await this.window()) === credits ? true : undefined), `window ${credits}`);
  }

  /** Reports progress once the clock moved (else the deadline could not), and waits until the deadline moved out. */
  async progress(messageId: string): Promise<void> {
    const deadline = () =>
      runInDurableObject(this.relay, (_relay, state) =>
        state.storage.sql.exec<{ d: number | null }>('SELECT deadline_at AS d FROM messages WHERE message_id = ?', messageId).one().d ?? 0,
      );
    const before = await deadline();
    const readAt = Date.now();
    await waitFor(async () => (Date.now() > readAt ? true : undefined), 'the clock to move');
    this.send({ type: 'progress', message_id: messageId });
    await waitFor(async () => ((await deadline()) > before ? true : undefined), `the progress of ${messageId}`);
  }

  private async acksCounted(): Promise<number> {
    const { counters } = await this.relay.stats();
    return (counters.acks ?? 0) + (counters.acks_void ?? 0);
  }

  /** This session's window, as the Relay holds it; undefined once the Relay dropped the session. */
  window(): Promise<number | undefined> {
    return runInDurableObject(this.relay, (_relay, state) =>
      state
        .getWebSockets('core')
        .map((ws) => ws.deserializeAttachment() as { sessionId?: string; window?: number } | null)
        .find((session) => session?.sessionId === this.sessionId)?.window,
    );
  }

  async next<T extends EdgeFrame['type']>(type: T, timeoutMs = 5_000): Promise<Extract<EdgeFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((f) => f.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0] as Extract<EdgeFrame, { type: T }>;
      if (this.closed) throw new Error(`tunnel closed (${this.closed.code} ${this.closed.reason}) while waiting for ${type}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${type} frame within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Everything the Relay sent before now, after a processed round trip. */
  async barrier(): Promise<EdgeFrame[]> {
    // Key order differs from PING, so the runtime's auto-response does not answer it.
    this.ws.send(JSON.stringify({ type: 'ping', v: 1 }));
    await this.next('pong');
    return this.frames.splice(0);
  }

  async waitClosed(timeoutMs = 5_000): Promise<{ code: number; reason: string }> {
    await waitFor(async () => this.closed, 'tunnel close', timeoutMs);
    return this.closed!;
  }

  close(): void {
    this.ws.close(1000, 'test done');
  }
}
