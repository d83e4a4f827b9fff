import { ClientEventSchema } from '@hearth/shared';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_API_BODY_BYTES } from '../src/api/routes.js';
import { clientToken, freshUser } from './api-helpers.js';
import {
  anyJson,
  applyMutation,
  checkProperty,
  edgeFetch,
  expectNoServerError,
  fuzzSuite,
  fuzzTimeout,
  messageCount,
  mutation,
  nastyString,
} from './fuzz-helpers.js';
import { waitFor } from './helpers.js';

/**
 * The client API under garbage: random and mutated bodies for /v1/messages, /v1/press and
 * /v1/chat/completions, random path and query parameters, random Authorization headers, random
 * query strings for the streams, random frames on an authenticated /v1/ws socket. Invariants:
 * no 5xx but the documented 503 (queue full, core offline), always with Retry-After; no handler
 * that threw; a row in the Relay only for an accepted message; and a valid message sent after
 * the garbage is accepted and delivered. A core stand-in acks every delivery with a reply.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-api', { reply: true });

const tokenFor = async (user: string, scopes?: Parameters<typeof clientToken>[1]) => (await clientToken(user, scopes)).token;

/** `encodeURIComponent` of any string: lone surrogates (which it refuses) become U+FFFD first. */
const encode = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

/** Statuses the client API answers garbage with; 503 only with Retry-After (checked below). */
const API_STATUSES = [200, 202, 400, 401, 403, 404, 405, 413, 426, 429, 503] as const;

async function api(path: string, token: string | null, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== null && !headers.has('Authorization')) headers.set('Authorization', `Bearer ${token}`);
  if (init.body !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
  return edgeFetch(path, { ...init, headers });
}

/** Checks a refusal's shape: a JSON error with a code; 503s and 429s say when to retry. */
async function expectWellFormed(response: Response, where: string): Promise<void> {
  expectNoServerError(response.status, where, API_STATUSES);
  if (response.status === 503 || response.status === 429) expect(response.headers.get('Retry-After')).toMatch(/^\d+$/);
  if (response.status === 503) expect(['core_offline', 'queue_full']).toContain(((await response.clone().json()) as { error: { code: string } }).error.code);
  if (response.status >= 400) expect(await response.json()).toMatchObject({ ok: false, error: { code: expect.any(String) } });
  else await response.body?.cancel();
}

/** A valid message from a fresh user right after the garbage: accepted (202) and delivered. */
async function validAround(): Promise<void> {
  const token = await tokenFor(freshUser('fuzz-valid'));
  const response = await api('/v1/messages', token, { method: 'POST', body: JSON.stringify({ conversation_id: 'c-1', text: 'valid between garbage' }) });
  expect(response.status).toBe(202);
  mustDeliver.add(((await response.json()) as { id: string }).id);
}

const validPost = fc.record(
  { conversation_id: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), text: nastyString(300).filter((t) => t.length > 0), client_id: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/) },
  { requiredKeys: ['conversation_id', 'text'] },
);

const validPress = fc.record(
  {
    conversation_id: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
    data: fc.tuple(fc.constantFrom('r', 's'), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/)).map(([decision, id]) => `ap:${decision}:${id}`),
    client_id: fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/),
  },
  { requiredKeys: ['conversation_id', 'data'] },
);

const validCompletion = fc.record(
  {
    model: fc.constantFrom('hearth', 'gpt-4o', 'x'),
    messages: fc.array(fc.record({ role: fc.constantFrom('system', 'developer', 'user', 'assistant'), content: nastyString(100) }), { minLength: 1, maxLength: 4 }),
    stream: fc.boolean(),
    max_tokens: fc.integer({ min: 1, max: 32_768 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    n: fc.constant(1),
  },
  { requiredKeys: ['model', 'messages'] },
);

describe('fuzz: client API bodies', { timeout: fuzzTimeout() }, () => {
  it('POST /v1/messages: random and mutated bodies; a row only for a 202', async () => {
    let accepted = 0;
    await checkProperty(
      'api.messages_body',
      fc.asyncProperty(fc.oneof(anyJson, fc.tuple(validPost, mutation).map(([p, m]) => applyMutation(p, m)), validPost), async (body) => {
        const token = await tokenFor(freshUser('fuzz'));
        const before = await messageCount();
        const response = await api('/v1/messages', token, { method: 'POST', body: JSON.stringify(body) });
        const status = response.status;
        const answer = status === 202 ? ((await response.clone().json()) as { id: string; duplicate: boolean }) : undefined;
        await expectWellFormed(response, 'POST /v1/messages');
        expect((await messageCount()) - before).toBe(answer && !answer.duplicate ? 1 : 0);
        if (answer) {
          accepted++;
          mustDeliver.add(answer.id);
        }
        await validAround();
      }),
      150,
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('POST /v1/press: random and mutated bodies; a row only for a 202', async () => {
    let accepted = 0;
    await checkProperty(
      'api.press_body',
      fc.asyncProperty(fc.oneof(anyJson, fc.tuple(validPress, mutation).map(([p, m]) => applyMutation(p, m)), validPress), async (body) => {
        const token = await tokenFor(freshUser('fuzz'));
        const before = await messageCount();
        const response = await api('/v1/press', token, { method: 'POST', body: JSON.stringify(body) });
        const answer = response.status === 202 ? ((await response.clone().json()) as { id: string; duplicate: boolean }) : undefined;
        await expectWellFormed(response, 'POST /v1/press');
        expect((await messageCount()) - before).toBe(answer && !answer.duplicate ? 1 : 0);
        if (answer) {
          accepted++;
          mustDeliver.add(answer.id);
        }
      }),
      100,
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('POST /v1/chat/completions: random and mutated bodies; answered or refused, never a 5xx', async () => {
    let completed = 0;
    await checkProperty(
      'api.completions_body',
      fc.asyncProperty(fc.oneof(anyJson, fc.tuple(validCompletion, mutation).map(([p, m]) => applyMutation(p, m)), validCompletion), async (body) => {
        const token = await tokenFor(freshUser('fuzz'));
        const before = await messageCount();
        const response = await api('/v1/chat/completions', token, { method: 'POST', body: JSON.stringify(body) });
        const status = response.status;
        if (status === 200) {
          completed++;
          await response.text(); // a stream ends when the core's answer is complete
        }
        else await expectWellFormed(response, 'POST /v1/chat/completions');
        // A completion is queued for the core (one row) only when it was accepted.
        expect((await messageCount()) - before).toBe(status === 200 ? 1 : 0);
      }),
      100,
    );
    // The generator reaches the core too, not only the validator.
    expect(completed).toBeGreaterThan(0);
  });

  it('bodies past the limit: 413, nothing stored', async () => {
    await checkProperty(
      'api.oversized',
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom('/v1/messages', '/v1/chat/completions'), async (over, path) => {
        const token = await tokenFor(freshUser('fuzz'));
        const before = await messageCount();
        const response = await api(path, token, { method: 'POST', body: JSON.stringify({ conversation_id: 'c', text: 'a'.repeat(MAX_API_BODY_BYTES + over) }) });
        expect(response.status).toBe(413);
        await expectWellFormed(response, path);
        expect(await messageCount()).toBe(before);
      }),
      8,
    );
  });
});

describe('fuzz: client API parameters, headers and streams', { timeout: fuzzTimeout() }, () => {
  const queryValue = fc.oneof(nastyString(60), fc.integer().map(String), fc.constantFrom('', '0', '-1', '1e309', 'NaN', 'eyJhbGciOiJub25lIn0'));

  it('GET /v1/conversations/:id/messages with random ids, cursors and limits', async () => {
    await checkProperty(
      'api.history_params',
      fc.asyncProperty(nastyString(80), fc.option(queryValue), fc.option(queryValue), async (id, after, limit) => {
        const query = new URLSearchParams();
        if (after !== null) query.set('after', after);
        if (limit !== null) query.set('limit', limit);
        const token = await tokenFor(freshUser('fuzz-history'), ['chat:read']);
        const response = await api(`/v1/conversations/${encode(id)}/messages?${query}`, token);
        await expectWellFormed(response, 'GET /v1/conversations/:id/messages');
      }),
      120,
    );
  });

  it('random Authorization headers on every route: 401, nothing stored', async () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 400 });
    const authorization = fc.oneof(
      printable,
      printable.map((t) => `Bearer ${t}`),
      fc.tuple(fc.base64String(), fc.base64String(), fc.base64String()).map(([a, b, c]) => `Bearer ${a}.${b}.${c}`.replaceAll('=', '')),
      fc.constantFrom('Bearer', 'Bearer ', 'Basic YWRtaW46YWRtaW4=', 'bearer null', `Bearer ${'a'.repeat(8_000)}`),
    );
    const route = fc.constantFrom(
      ['POST', '/v1/messages'],
      ['POST', '/v1/chat/completions'],
      ['POST', '/v1/press'],
      ['GET', '/v1/conversations'],
      ['GET', '/v1/conversations/c-1/messages'],
      ['GET', '/v1/events'],
      ['GET', '/v1/ws'],
      ['GET', '/v1/models'],
      ['GET', '/v1/admin/status'],
    );
    await checkProperty(
      'api.authorization',
      fc.asyncProperty(authorization, route, async (header, [method, path]) => {
        const before = await messageCount();
        const response = await api(path as string, null, {
          method: method as string,
          headers: { Authorization: header, ...(path === '/v1/ws' ? { Upgrade: 'websocket' } : {}) },
          ...(method === 'POST' ? { body: JSON.stringify({ conversation_id: 'c-1', text: 'let me in' }) } : {}),
        });
        expect(response.status).toBe(401);
        await expectWellFormed(response, `${method} ${path}`);
        expect(await messageCount()).toBe(before);
      }),
      200,
    );
  });

  it('GET /v1/events and /v1/ws with random query strings and Last-Event-ID', async () => {
    await checkProperty(
      'api.stream_params',
      fc.asyncProperty(fc.boolean(), fc.option(queryValue), fc.option(queryValue), fc.option(nastyString(40)), async (ws, after, lastEventId, protocol) => {
        const token = await tokenFor(freshUser('fuzz-stream'));
        const query = after === null ? '' : `?after=${encode(after)}`;
        const headers: Record<string, string> = {};
        if (lastEventId !== null && /^[\x20-\x7e]*$/.test(lastEventId)) headers['Last-Event-ID'] = lastEventId;
        if (ws) {
          headers.Upgrade = 'websocket';
          if (protocol !== null && /^[\x21-\x7e]+$/.test(protocol)) headers['Sec-WebSocket-Protocol'] = protocol;
        }
        const response = await api(`/v1/${ws ? 'ws' : 'events'}${query}`, token, { headers });
        if (response.status === 101) {
          response.webSocket?.accept();
          response.webSocket?.close(1000, 'fuzz');
          return;
        }
        await expectWellFormed(response, `GET /v1/${ws ? 'ws' : 'events'}`);
      }),
      100,
    );
  });
});

describe('fuzz: frames on a /v1/ws socket', { timeout: fuzzTimeout() }, () => {
  it('random frames get an error event and the socket goes on; a valid send is accepted and delivered', async () => {
    const sendFrame = fc.record(
      { type: fc.constantFrom('send', 'Send', 'ping', ''), conversation_id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), nastyString(80)), text: nastyString(200), client_id: nastyString(70) },
      { requiredKeys: [] },
    );
    const frame = fc.oneof(
      anyJson.map((v) => JSON.stringify(v)),
      nastyString(300),
      sendFrame.map((v) => JSON.stringify(v)),
      fc.tuple(sendFrame, mutation).map(([v, m]) => JSON.stringify(applyMutation(v, m))),
      fc.uint8Array({ maxLength: 512 }),
    );
    let socket: { ws: WebSocket; events: unknown[]; user: string } | undefined;
    let sentOnSocket = 0;
    const open = async () => {
      const user = freshUser('fuzz-ws');
      const response = await api('/v1/ws', await tokenFor(user), { headers: { Upgrade: 'websocket' } });
      const ws = response.webSocket;
      if (response.status !== 101 || !ws) throw new Error(`client socket refused: ${response.status}`);
      ws.accept();
      const events: unknown[] = [];
      ws.addEventListener('message', (event) => {
        const data = JSON.parse(typeof event.data === 'string' ? event.data : new TextDecoder().decode(event.data)) as { type: string };
        // Everything the edge sends a client is a ClientEvent or an `accepted`.
        events.push(data.type === 'accepted' ? data : ClientEventSchema.parse(data));
      });
      sentOnSocket = 0;
      return { ws, events, user };
    };
    await checkProperty(
      'api.ws_frames',
      fc.asyncProperty(frame, async (data) => {
        // Rate limits are per user and token: a fresh socket every few valid sends.
        if (!socket || socket.ws.readyState !== WebSocket.OPEN || sentOnSocket >= 8) {
          socket?.ws.close(1000, 'next');
          socket = await open();
        }
        const s = socket;
        const before = s.events.length;
        s.ws.send(data);
        sentOnSocket++;
        // Then a valid send, on the same socket: it must be accepted whatever came before.
        const clientId = `valid-${crypto.randomUUID()}`;
        s.ws.send(JSON.stringify({ type: 'send', conversation_id: 'c-ws', text: 'valid after garbage', client_id: clientId }));
        sentOnSocket++;
        const accepted = await waitFor(
          async () => s.events.slice(before).find((e): e is { type: 'accepted'; id: string; client_id: string } => (e as { client_id?: string }).client_id === clientId),
          'the valid send accepted',
        );
        mustDeliver.add(accepted.id);
        expect(s.ws.readyState).toBe(WebSocket.OPEN);
      }),
      150,
    );
    socket?.ws.close(1000, 'done');
  });

  it('every message accepted around the garbage reached the core, and no handler threw', async () => {
    await expectClean();
  });
});
