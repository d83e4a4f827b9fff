import { once } from 'node:events';
import { type CoreFrame, type CoreKeySet, type Message, MessageSchema, PING, PONG, TunnelCloseCode, encodeFrame, parseCoreFrame, parseEdgeFrame, publicKeySet, seal } from '@hearth/shared';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type WebSocket, WebSocketServer } from 'ws';
import { startEchoCore } from './echo-core.js';

/**
 * Every edge → core frame the core accepts (welcome, deliver, cancel, error, access_result,
 * history, ping, pong), fuzzed against a real core (echo engine, SQLite on disk, its real
 * TunnelClient and pipeline) over a real loopback socket.
 *
 * The edge side here is a stand-in for our edge, used only to inject what the real edge never
 * sends (random JSON, mutated frames, deliveries whose `sealed` is garbage or opens to JSON that
 * is not a Message, history requests with random queries). Invariants: nothing is thrown
 * uncaught in the core's process; every frame the core sends parses as a CoreFrame; a delivery
 * the core cannot open is acked without a reply (dropped, so it does not block its
 * conversation), never answered; and after every garbage frame a valid delivery is answered.
 *
 * Runs: HEARTH_FUZZ_RUNS scales the counts (the bench raises it); HEARTH_FUZZ_SEED replays.
 */
const seed = Number(process.env.HEARTH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const scale = Number(process.env.HEARTH_FUZZ_RUNS ?? 0) > 0 ? Number(process.env.HEARTH_FUZZ_RUNS) / 200 : 1;
const params = (runs: number) => ({ numRuns: Math.max(1, Math.round(runs * scale)), seed, endOnFailure: true, includeErrorInReport: true });
const timeout = 120_000 * scale;

async function check<Ts>(name: string, property: fc.IAsyncPropertyWithHooks<Ts>, runs: number): Promise<void> {
  let tried = 0;
  try {
    await fc.assert(
      property.beforeEach((previous) => {
        tried++;
        return previous();
      }),
      params(runs),
    );
  } catch (error) {
    throw new Error(`fuzz property "${name}" failed (replay with HEARTH_FUZZ_SEED=${seed}):\n${error instanceof Error ? error.message : String(error)}`);
  }
  console.info(`fuzz_runs ${name} ${tried} seed=${seed}`);
}

/** The stand-in edge: welcomes a hello, records every frame (parsed: an invalid one is a failure), sends anything. */
class GarbageEdge {
  readonly frames: CoreFrame[] = [];
  readonly invalid: string[] = [];
  readonly closes: number[] = [];
  pings = 0;
  socket: WebSocket | undefined;
  private readonly server = new WebSocketServer({ host: '127.0.0.1', port: 0 });

  async start(): Promise<string> {
    await once(this.server, 'listening');
    this.server.on('connection', (socket) => {
      this.socket = socket;
      socket.on('close', (code) => this.closes.push(code));
      socket.on('message', (data) => {
        const text = data.toString();
        if (text === PING) this.pings++;
        if (text === PING || text === PONG) return;
        const parsed = parseCoreFrame(text);
        if (!parsed.ok) return void this.invalid.push(text.slice(0, 200));
        this.frames.push(parsed.value);
        if (parsed.value.type === 'hello') this.sendRaw(encodeFrame({ type: 'welcome', session_id: 'fuzz', heartbeat_ms: 60_000, silence_ms: 180_000, ack_timeout_ms: 30_000 }));
      });
    });
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    return `http://127.0.0.1:${address.port}`;
  }

  sendRaw(data: string | Uint8Array): void {
    if (!this.socket) throw new Error('no core connected');
    this.socket.send(data);
  }

  async waitFor<T extends CoreFrame>(predicate: (frame: CoreFrame) => frame is T, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error('the core did not send the frame waited for');
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => uncaught.push(error);
const cleanups: (() => Promise<void>)[] = [];

async function startFuzzCore(): Promise<{ edge: GarbageEdge; keys: CoreKeySet }> {
  const edge = new GarbageEdge();
  const url = await edge.start();
  const { keySet, stop } = await startEchoCore(url, 'fuzz-core');
  cleanups.push(async () => {
    await stop();
    await edge.close();
  });
  await edge.waitFor((f): f is Extract<CoreFrame, { type: 'hello' }> => f.type === 'hello');
  return { edge, keys: publicKeySet(keySet) };
}

beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
});

let serial = 0;
const messageFor = (id: string, text: string): Message => ({
  message_id: id,
  platform: 'telegram',
  conversation: { id: `telegram:${id.split(':')[1]}`, type: 'private' },
  sender: { id: 'telegram:1' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1_764_000_000,
});

/** A valid delivery right after the garbage: answered with a reply. */
async function expectStillAnswers(edge: GarbageEdge, keys: CoreKeySet): Promise<void> {
  const id = `telegram:${700_000 + (serial % 50)}:${++serial}`;
  const message = messageFor(id, `valid ${serial}`);
  edge.sendRaw(encodeFrame({ type: 'deliver', message_id: id, conversation_id: message.conversation.id, attempt: 1, sealed: await seal(JSON.stringify(message), keys) }));
  const ack = await edge.waitFor((f): f is Extract<CoreFrame, { type: 'ack' }> => f.type === 'ack' && f.message_id === id);
  expect(ack.reply?.text).toBeTruthy();
}

const nasty = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('', '../../etc/passwd', '\u0000', '__proto__', 'x'.repeat(70_000)));
/** Any JSON but a number in `v` other than 1 (that one ends the session on purpose: tested apart). */
const json = fc.jsonValue({ maxDepth: 4 }).filter((v) => !(v && typeof v === 'object' && 'v' in v && typeof (v as { v: unknown }).v === 'number' && (v as { v: unknown }).v !== 1));

const edgeFrames = [
  { type: 'welcome', session_id: 's', heartbeat_ms: 60_000, silence_ms: 180_000, ack_timeout_ms: 30_000 },
  { type: 'deliver', message_id: 'telegram:1:1', conversation_id: 'telegram:1', attempt: 1, sealed: 'x' },
  { type: 'cancel', message_id: 'telegram:1:1' },
  { type: 'error', code: 'bad_frame', message: 'no', fatal: false },
  { type: 'access_result', request_id: 'r', ok: true },
  { type: 'history', request_id: 'r', user: 'ada', query: { kind: 'since', after: null, limit: 10 } },
  { type: 'ping' },
  { type: 'pong' },
].map((f) => ({ v: 1, ...f }));

/** One field of a valid frame replaced by any JSON value, or deleted (the version kept). */
const mutated = fc.tuple(fc.constantFrom(...edgeFrames), fc.nat(), fc.oneof(json, nasty, fc.constant(undefined))).map(([frame, pick, value]) => {
  const keys = Object.keys(frame).filter((k) => k !== 'v');
  const key = keys[pick % keys.length] as string;
  const copy: Record<string, unknown> = { ...frame };
  if (value === undefined) delete copy[key];
  else copy[key] = value;
  return JSON.stringify(copy);
});

describe('fuzz: edge → core frames against a real core', { timeout }, () => {
  let edge: GarbageEdge;
  let keys: CoreKeySet;
  beforeAll(async () => {
    ({ edge, keys } = await startFuzzCore());
  });

  it('random JSON, text, bytes and mutated frames: nothing thrown, every frame it sends valid, and it still answers', async () => {
    await check(
      'core.random_frames',
      fc.asyncProperty(fc.oneof(json.map((v) => JSON.stringify(v)), nasty, mutated, fc.uint8Array({ maxLength: 512 })), async (data) => {
        edge.sendRaw(data);
        await expectStillAnswers(edge, keys);
      }),
      150,
    );
    expect(edge.invalid).toEqual([]);
    expect(uncaught).toEqual([]);
  });

  it('deliveries it cannot open (random sealed, or sealed JSON that is not a Message): acked without a reply, never answered', async () => {
    const sealedGarbage = fc.oneof(
      nasty.filter((s) => s.length > 0),
      fc.base64String({ minLength: 1 }),
      // Five JWE-looking parts of random base64url.
      fc.array(fc.base64String(), { minLength: 5, maxLength: 5 }).map((parts) => parts.join('.').replaceAll('=', '').replaceAll('+', '-').replaceAll('/', '_') || 'x'),
      // Correctly sealed to this core, but not a Message: random JSON, or a Message with a field broken.
      json.map((v) => ({ seal: v })),
      // (message_id is kept: a sealed id other than the delivery's is a finding of its own, below.)
      fc.tuple(fc.constantFrom('conversation', 'content', 'platform', 'timestamp', 'sender', 'reply_to'), json).map(([field, v]) => ({ field, v })),
    );
    let dropped = 0;
    await check(
      'core.unopenable_deliveries',
      fc.asyncProperty(sealedGarbage, async (garbage) => {
        const id = `telegram:${800_000 + (serial % 50)}:${++serial}`;
        const payload = typeof garbage === 'string' ? undefined : 'seal' in garbage ? garbage.seal : { ...messageFor(id, 'x'), [garbage.field]: garbage.v };
        const sealed = payload === undefined ? (garbage as string) : await seal(JSON.stringify(payload), keys);
        edge.sendRaw(encodeFrame({ type: 'deliver', message_id: id, conversation_id: `telegram:${id.split(':')[1]}`, attempt: 1, sealed }));
        const ack = await edge.waitFor((f): f is Extract<CoreFrame, { type: 'ack' }> => f.type === 'ack' && f.message_id === id);
        // A broken field can still leave a valid Message (JSON of the right type): then it is answered.
        const opened = payload !== undefined && isMessage(payload);
        if (!opened) {
          expect(ack.reply).toBeUndefined();
          dropped++;
        }
        await expectStillAnswers(edge, keys);
      }),
      120,
    );
    expect(dropped).toBeGreaterThan(0);
    expect(uncaught).toEqual([]);
  });

  it('history requests with random queries: one history_result each, ok or not', async () => {
    const query = fc.oneof(
      json,
      fc.record({ kind: fc.constantFrom('messages', 'since', 'conversations', 'all'), conversation_id: nasty, after: fc.oneof(nasty, fc.constant(null)), limit: fc.oneof(fc.integer(), fc.double()) }, { requiredKeys: ['kind'] }),
    );
    await check(
      'core.history_queries',
      fc.asyncProperty(query, fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,64}$/), nasty), async (q, user) => {
        const requestId = `fuzz-${++serial}`;
        edge.sendRaw(JSON.stringify({ v: 1, type: 'history', request_id: requestId, user, query: q }));
        // A frame the schema refuses is logged and dropped; one it accepts gets exactly one answer.
        const valid = parseEdgeFrameOk(JSON.stringify({ v: 1, type: 'history', request_id: requestId, user, query: q }));
        if (valid) await edge.waitFor((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === requestId);
        await expectStillAnswers(edge, keys);
        expect(edge.frames.filter((f) => f.type === 'history_result' && f.request_id === requestId).length).toBe(valid ? 1 : 0);
      }),
      120,
    );
    expect(uncaught).toEqual([]);
  });
});

describe('welcome frames with heartbeats no edge is configured with', { timeout }, () => {
  // The edge announces 200 ms - 5 min (HEARTH_HEARTBEAT_MS). A timer past 2^31 ms fires at once
  // in Node, every millisecond; one of 1 ms floods the link just the same.
  it.each([2 ** 40, 1])('heartbeat_ms %d does not make the core ping every millisecond', async (heartbeatMs) => {
    const { edge, keys } = await startFuzzCore();
    edge.sendRaw(encodeFrame({ type: 'welcome', session_id: 'w', heartbeat_ms: heartbeatMs, silence_ms: 180_000, ack_timeout_ms: 30_000 }));
    const before = edge.pings;
    // A rate: counted over a second of real time, by design.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(edge.pings - before).toBeLessThanOrEqual(10);
    await expectStillAnswers(edge, keys);
    await cleanups.pop()?.();
  });
});

describe('a sealed message that is not its delivery', { timeout }, () => {
  // Found by this fuzzing: the pipeline acked, progressed and keyed its reply by the sealed id, so
  // the delivery itself was never acked (redelivered until dead-lettered) and the reply landed
  // under another message's idempotency key. Only a party that writes the Relay's queue (the
  // edge) can make one; the core now drops it, acking the delivery's id without a reply.
  it('a sealed message naming another id than its delivery is dropped, acked by the delivery id', async () => {
    const { edge, keys } = await startFuzzCore();
    const id = `telegram:900001:${++serial}`;
    const sealed = await seal(JSON.stringify(messageFor('telegram:900001:someone-else', 'swap')), keys);
    edge.sendRaw(encodeFrame({ type: 'deliver', message_id: id, conversation_id: 'telegram:900001', attempt: 1, sealed }));
    const ack = await edge.waitFor((f): f is Extract<CoreFrame, { type: 'ack' }> => f.type === 'ack' && f.message_id === id, 3_000);
    expect(ack.reply).toBeUndefined();
  });
});

describe('fuzz: frames of another protocol version', { timeout }, () => {
  it('end the session with the protocol-mismatch close, nothing else (a fresh core per version)', async () => {
    await check(
      'core.wrong_version',
      fc.asyncProperty(fc.oneof(fc.integer({ min: -5, max: 1_000 }).filter((v) => v !== 1), fc.constantFrom(0, 2, 1.5, 2 ** 53)), fc.constantFrom(...edgeFrames), async (v, frame) => {
        const { edge } = await startFuzzCore();
        edge.sendRaw(JSON.stringify({ ...frame, v }));
        await expect.poll(() => edge.closes, { timeout: 5_000 }).toContain(TunnelCloseCode.ProtocolMismatch);
        expect(edge.frames.filter((f) => f.type === 'ack' || f.type === 'history_result')).toEqual([]);
        await cleanups.pop()?.();
      }),
      6,
    );
    expect(uncaught).toEqual([]);
  });
});

const isMessage = (v: unknown) => MessageSchema.safeParse(v).success;
const parseEdgeFrameOk = (text: string) => parseEdgeFrame(text).ok;
