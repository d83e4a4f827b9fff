import { encodeFrame, parseEdgeFrame, signTunnelToken } from '@hearth/shared';
import { SELF, createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, inject, vi } from 'vitest';
import worker from '../src/index.js';
import { relayFor } from '../src/relay/stub.js';
import { coreKeys, waitFor } from './helpers.js';

/**
 * Shared pieces of the fuzz suites (test/fuzz-*.test.ts): how many runs, from which seed, and
 * the invariants every entry point must keep under garbage.
 *
 * Runs: `HEARTH_FUZZ_RUNS` (global-setup passes it in; `npm test` keeps the default small, the
 * bench raises it). Seed: `HEARTH_FUZZ_SEED`, else a fresh one, printed with every failure so a
 * failing run can be replayed exactly.
 */
function fuzzParams(defaultRuns: number): { numRuns: number; seed: number; endOnFailure: true; includeErrorInReport: true } {
  const configured = inject('fuzzRuns');
  const numRuns = configured > 0 ? Math.max(1, Math.round(defaultRuns * (configured / 200))) : defaultRuns;
  const seed = inject('fuzzSeed');
  return { numRuns, seed, endOnFailure: true, includeErrorInReport: true };
}

/** A fuzz suite's test timeout: two minutes at `npm test`'s run counts, scaled with HEARTH_FUZZ_RUNS. */
export const fuzzTimeout = (): number => 120_000 * Math.max(1, inject('fuzzRuns') / 200);

/** Writes `fuzz_runs <property> <count> seed=<seed>` so the bench can count inputs tried. */
function reportRuns(property: string, runs: number): void {
  console.info(`fuzz_runs ${property} ${runs} seed=${inject('fuzzSeed')}`);
}

/** Runs a property and reports its run count; fast-check's failure message carries the seed. */
export async function checkProperty<Ts>(name: string, property: fc.IAsyncPropertyWithHooks<Ts>, defaultRuns: number): Promise<void> {
  const params = fuzzParams(defaultRuns);
  let runs = 0;
  const counted = property.beforeEach((previous) => {
    runs++;
    return previous();
  });
  try {
    await fc.assert(counted, params);
  } catch (error) {
    // The seed again, in words, beside fast-check's own report.
    throw new Error(`fuzz property "${name}" failed (replay with HEARTH_FUZZ_SEED=${params.seed}):\n${error instanceof Error ? error.message : String(error)}`);
  }
  reportRuns(name, runs);
}

/**
 * A request to the worker's own fetch handler, in this isolate, with the real bindings (the
 * Relay included), waiting for what it left to `waitUntil` (not for a stream, which the caller reads). Fuzz suites send thousands of
 * requests: through `SELF.fetch` (vitest-pool-workers 0.15) each request of a file takes
 * longer than the one before, which would make the suites quadratic in their run count.
 */
export async function edgeFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await worker.fetch(new Request(`https://edge.test${path}`, init), env, ctx);
  // A streamed answer is written from waitUntil as it is read: waiting first would deadlock.
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) void waitOnExecutionContext(ctx);
  else await waitOnExecutionContext(ctx);
  return response;
}

/** POSTs a Telegram update (any body) with the right secret, through {@link edgeFetch}. */
export function postTelegram(body: unknown, secret: string | null = inject('webhookSecret')): Promise<Response> {
  return edgeFetch('/webhooks/telegram', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'X-Telegram-Bot-Api-Secret-Token': secret }) },
    body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
}

/** Rows in the deployment Relay's `messages` table (acked rows stay, so it only grows). */
export function messageCount(): Promise<number> {
  return runInDurableObject(relayFor(env), (_relay, state) => state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM messages').one().n);
}

/**
 * Watches console output for the lines the app writes when something it did not expect
 * escaped a handler: `request_failed` (a 500) and `tunnel_frame_failed` (a frame handler
 * threw). The worker and the Relay run in this isolate, so their console is ours.
 */
export function watchUncaught(): { lines: () => string[]; restore: () => void } {
  const seen: string[] = [];
  const spies = (['log', 'warn', 'error'] as const).map((level) => {
    const original = console[level].bind(console);
    return vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      const text = args.map(String).join(' ');
      if (/"event":"(request_failed|tunnel_frame_failed|relay_alarm_not_armed)"/.test(text)) seen.push(text);
      // Errors stay visible; the info and warn lines of thousands of refused requests are noise.
      if (level === 'error') original(...args);
    });
  });
  return { lines: () => seen, restore: () => {
      for (const spy of spies) spy.mockRestore();
    }, };
}

/**
 * A core stand-in on the deployment Relay that acks every delivery at once (no reply) and
 * remembers what it got: the queue never fills while a fuzz suite stores valid messages, and
 * the suite can check that every message it meant to be stored was delivered.
 */
class Drainer {
  readonly delivered = new Set<string>();
  private constructor(
    private readonly ws: WebSocket,
    reply: boolean,
  ) {
    ws.addEventListener('message', (event) => {
      const parsed = parseEdgeFrame(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data));
      if (parsed.ok && parsed.value.type === 'history') {
        // An empty history, of either kind the query asks for.
        ws.send(encodeFrame({ type: 'history_result', request_id: parsed.value.request_id, ok: true, items: [], has_more: false, conversations: [] }));
        return;
      }
      if (!parsed.ok || parsed.value.type !== 'deliver') return;
      const id = parsed.value.message_id;
      this.delivered.add(id);
      ws.send(encodeFrame({ type: 'ack', message_id: id, ...(reply ? { reply: { key: `reply:${id}`, text: 'ok' } } : {}) }));
    });
  }

  /**
   * `reply`: ack with a reply (what API clients and completions wait for), else ack alone.
   * It says it serves history (answered empty), so completions and history requests reach it.
   */
  static async open(coreId = 'fuzz-drainer', { credits = 64, reply = false }: { credits?: number; reply?: boolean } = {}): Promise<Drainer> {
    const response = await SELF.fetch('https://edge.test/tunnel', {
      headers: { Upgrade: 'websocket', Authorization: `Bearer ${await signTunnelToken(coreKeys(), coreId)}` },
    });
    const ws = response.webSocket;
    if (response.status !== 101 || !ws) throw new Error(`drainer tunnel refused: ${response.status}`);
    ws.accept();
    const drainer = new Drainer(ws, reply);
    const welcomed = new Promise<void>((resolve) =>
      ws.addEventListener('message', (event) => {
        if (String(event.data).includes('"welcome"')) resolve();
      }),
    );
    ws.send(encodeFrame({ type: 'hello', core_id: coreId, credits, serves_history: true }));
    await welcomed;
    return drainer;
  }

  /** Waits until every id was delivered here. */
  async expectDelivered(ids: Iterable<string>, timeoutMs = 20_000): Promise<void> {
    const wanted = [...ids];
    await waitFor(async () => (wanted.every((id) => this.delivered.has(id)) ? true : undefined), `${wanted.length} deliveries`, timeoutMs).catch(() => {
      const missing = wanted.filter((id) => !this.delivered.has(id));
      throw new Error(`not delivered: ${missing.slice(0, 10).join(', ')} (${missing.length} of ${wanted.length})`);
    });
  }

  /** Closes, and resolves once the Relay echoed the close (it logs the close in that turn). */
  close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.ws.addEventListener('close', () => resolve()));
    this.ws.close(1000, 'fuzz done');
    return closed;
  }
}

/**
 * What every fuzz file sets up: uncaught errors watched and a {@link Drainer} on the Relay for
 * the whole file, and the ids of valid messages that must be delivered. `expectClean` is the
 * closing check: every one of them delivered, and nothing thrown anywhere.
 */
export function fuzzSuite(coreId: string, options: { reply?: boolean } = {}) {
  let drainer: Drainer | undefined;
  let watch: ReturnType<typeof watchUncaught> | undefined;
  const mustDeliver = new Set<string>();
  beforeAll(async () => {
    watch = watchUncaught();
    drainer = await Drainer.open(coreId, options);
  });
  afterAll(async () => {
    // The Relay logs the close: that line passes through the spy before it goes.
    await drainer?.close();
    watch?.restore();
  });
  return {
    mustDeliver,
    async expectClean(): Promise<void> {
      expect(mustDeliver.size).toBeGreaterThan(0);
      await drainer?.expectDelivered(mustDeliver);
      expect(watch?.lines()).toEqual([]);
    },
  };
}

// ---- arbitraries -------------------------------------------------------------------------

/** Strings that stress decoders and limits: any code points, lone surrogates, control characters, long runs. */
export const nastyString = (maxLength = 200) =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ unit: fc.constantFrom('\u0000', '\ud800', '\udfff', '\u202e', '\ufeff', '%', '\\', '"', '../', '\n'), maxLength }),
    fc.constantFrom('', ' ', 'null', 'undefined', '__proto__', 'constructor', '../../etc/passwd', '%00', '\u0000'.repeat(64)),
  );

/** Any JSON value, nested a little or a lot. */
export const anyJson = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 50, max: 3_000 }).map((depth) => deepNest(depth)) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown) },
);

/** `[[[...]]]` or `{"a":{"a":...}}`, `depth` levels deep. */
export function deepNest(depth: number, kind: 'array' | 'object' = depth % 2 === 0 ? 'array' : 'object'): unknown {
  let value: unknown = 0;
  for (let i = 0; i < depth; i++) value = kind === 'array' ? [value] : { a: value };
  return value;
}

/** Every path into a JSON value (objects and arrays), root excluded. */
function pathsOf(value: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (!value || typeof value !== 'object') return out;
  const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((v, i) => [i, v]) : Object.entries(value);
  for (const [key, child] of entries) {
    out.push([...prefix, key]);
    pathsOf(child, [...prefix, key], out);
  }
  return out;
}

const DELETE = Symbol('delete');

/**
 * Mutations of a valid payload: one field (chosen by `pick`) replaced by another value of any
 * type, a nasty string, a huge string, or deleted; or an unknown field added.
 */
export const mutation = fc.record({
  pick: fc.nat(),
  replacement: fc.oneof(
    anyJson,
    nastyString(),
    fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
    fc.constantFrom(-1, 0, 2 ** 53, -(2 ** 53), 1e308, 0.5, null, true, [], {}),
    fc.constant(DELETE),
  ),
  extraKey: fc.option(fc.tuple(nastyString(20), anyJson), { nil: undefined }),
});

export function applyMutation<T>(valid: T, { pick, replacement, extraKey }: { pick: number; replacement: unknown; extraKey: [string, unknown] | undefined }): unknown {
  const copy = structuredClone(valid) as unknown;
  const paths = pathsOf(copy);
  const path = paths[pick % Math.max(1, paths.length)];
  if (path) {
    let parent = copy as Record<string | number, unknown>;
    for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
    const last = path.at(-1) as string | number;
    if (replacement === DELETE) {
      if (Array.isArray(parent)) parent.splice(Number(last), 1);
      else delete parent[last];
    } else parent[last] = replacement;
  }
  if (extraKey && copy && typeof copy === 'object' && !Array.isArray(copy)) (copy as Record<string, unknown>)[extraKey[0]] = extraKey[1];
  return copy;
}

/** Bytes that are not valid UTF-8 (lone continuation bytes, overlongs, surrogates, truncated sequences). */
export const invalidUtf8 = fc.constantFrom(
  [0xff],
  [0xfe, 0xff],
  [0x80],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xe2, 0x82],
);

/** A JSON text with invalid UTF-8 bytes spliced into one of its strings. */
export function withInvalidUtf8(json: string, bytes: readonly number[], at: number): Uint8Array {
  const encoded = new TextEncoder().encode(json);
  // Splice right after an opening quote of a string value, so the bytes land inside a string.
  const quotes = [...json.matchAll(/:"/g)].map((m) => new TextEncoder().encode(json.slice(0, (m.index ?? 0) + 2)).byteLength);
  const offset = quotes.length > 0 ? (quotes[at % quotes.length] as number) : 0;
  return new Uint8Array([...encoded.slice(0, offset), ...bytes, ...encoded.slice(offset)]);
}

/** Statuses an entry point may answer garbage with; anything else (a 5xx above all) breaks the invariant. */
export function expectNoServerError(status: number, where: string, allowed: readonly number[]): void {
  if (!allowed.includes(status)) throw new Error(`${where} answered ${status} (allowed: ${allowed.join(', ')})`);
}

/**
 * Sends one webhook and checks what every webhook must keep to: an allowed status (never a
 * 5xx), as many new rows in the Relay as the edge said it stored, and none, with `ok: false`,
 * from a refusal. Returns the status.
 */
export async function sendWebhookAndCheck(where: string, send: () => Promise<Response>, allowed: readonly number[]): Promise<number> {
  const before = await messageCount();
  const response = await send();
  expectNoServerError(response.status, where, allowed);
  const answer = (await response.json()) as { ok: boolean; stored?: number };
  expect((await messageCount()) - before).toBe(response.status === 200 ? answer.stored : 0);
  if (response.status !== 200) expect(answer.ok).toBe(false);
  return response.status;
}
