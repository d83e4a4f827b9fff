import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { MAX_WEBHOOK_BYTES } from '../src/app.js';
import {
  anyJson,
  applyMutation,
  checkProperty,
  edgeFetch,
  expectNoServerError,
  fuzzSuite,
  fuzzTimeout,
  invalidUtf8,
  messageCount,
  mutation,
  nastyString,
  sendWebhookAndCheck,
  withInvalidUtf8,
} from './fuzz-helpers.js';
import { storedRows } from './helpers.js';
import { metaJson, sign, textWebhook } from './whatsapp-helpers.js';

/**
 * The WhatsApp webhook under garbage. POSTs are signed with the app secret, as Meta signs
 * them, so they pass the signature and reach parsing: random JSON, mutated valid webhooks,
 * invalid UTF-8, oversized bodies. Wrong signatures of every kind are refused before parsing.
 * The GET handshake gets random parameters. Each input is followed by a valid signed message,
 * which must be stored and delivered.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-whatsapp');
let serial = 0;

async function postWhatsAppRaw(raw: string | Uint8Array, signature: string | null): Promise<Response> {
  return edgeFetch('/webhooks/whatsapp', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'X-Hub-Signature-256': signature }) },
    body: raw,
  });
}

/** Posts a correctly signed body, checks the invariants, then a valid message. */
async function postSignedAndCheck(raw: string | Uint8Array, allowed: readonly number[] = [200, 400]): Promise<number> {
  return postAndCheck(raw, await sign(raw), allowed);
}

async function postAndCheck(raw: string | Uint8Array, signature: string | null, allowed: readonly number[]): Promise<number> {
  const status = await sendWebhookAndCheck('POST /webhooks/whatsapp', () => postWhatsAppRaw(raw, signature), allowed);
  await validAround();
  return status;
}

async function validAround(): Promise<void> {
  const id = `wamid.fuzz-valid-${++serial}-${crypto.randomUUID()}`;
  const raw = metaJson(textWebhook([{ from: '15550001111', id, body: 'valid between garbage' }]));
  const response = await postWhatsAppRaw(raw, await sign(raw));
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ stored: 1 });
  mustDeliver.add(`whatsapp:${id}`);
}

/** A valid webhook with random messages of the types the edge reads, and receipts. */
const validWebhook = fc
  .array(
    fc.record({
      from: fc.stringMatching(/^\d{6,15}$/),
      id: fc.string({ minLength: 1, maxLength: 60 }).map((s) => `wamid.${s}`),
      kind: fc.constantFrom('text', 'document', 'image', 'location', 'reaction', 'interactive', 'unknown_type'),
      text: nastyString(200),
      filename: nastyString(60),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((messages) => {
    const webhook = textWebhook(messages.map((m) => ({ from: m.from, id: m.id, body: m.text })));
    const value = webhook.entry[0]!.changes[0]!.value as Record<string, unknown> & { messages: Record<string, unknown>[] };
    value.messages = messages.map((m, i) => {
      const base = value.messages[i]!;
      switch (m.kind) {
        case 'document':
          return { ...base, type: 'document', text: undefined, document: { id: `media-${i}`, filename: m.filename, mime_type: 'application/pdf', caption: m.text } };
        case 'image':
          return { ...base, type: 'image', text: undefined, image: { id: `media-${i}`, mime_type: 'image/jpeg' } };
        case 'location':
          return { ...base, type: 'location', text: undefined, location: { latitude: 1.5, longitude: -2.25, name: m.text } };
        case 'reaction':
          return { ...base, type: 'reaction', text: undefined, reaction: { message_id: 'wamid.x', emoji: m.text } };
        case 'interactive':
          return { ...base, type: 'interactive', text: undefined, interactive: { type: 'button_reply', button_reply: { id: 'b', title: m.text } } };
        case 'unknown_type':
          return { ...base, type: m.text };
        default:
          return base;
      }
    });
    value.statuses = [{ id: 'wamid.sent', status: 'delivered', timestamp: '1764000000', recipient_id: '15550001111' }];
    return webhook;
  });

describe('fuzz: POST /webhooks/whatsapp, correctly signed', { timeout: fuzzTimeout() }, () => {
  it('random JSON: 200 or 400, stored only when it is a webhook with messages', async () => {
    await checkProperty('whatsapp.random_json', fc.asyncProperty(anyJson, async (body) => void (await postSignedAndCheck(JSON.stringify(body)))), 150);
  });

  it('valid webhooks with random messages: 200, each stored message delivered', async () => {
    await checkProperty(
      'whatsapp.valid_random',
      fc.asyncProperty(validWebhook, async (webhook) => {
        const raw = metaJson(webhook);
        const before = await messageCount();
        const response = await postWhatsAppRaw(raw, await sign(raw));
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { stored: number; duplicates: number };
        expect((await messageCount()) - before).toBe(answer.stored);
        // Whatever of it was stored (now or by an earlier run with the same id) must reach the core.
        const ids = webhook.entry[0]!.changes[0]!.value.messages.map((m) => `whatsapp:${m.id}`);
        for (const row of await storedRows(...ids)) mustDeliver.add(row.message_id);
        await validAround();
      }),
      100,
    );
  });

  it('mutated valid webhooks: no 5xx, nothing stored from a refusal', async () => {
    await checkProperty(
      'whatsapp.mutated',
      fc.asyncProperty(validWebhook, mutation, async (webhook, m) => void (await postSignedAndCheck(JSON.stringify(applyMutation(webhook, m))))),
      200,
    );
  });

  it('invalid UTF-8 in a signed body: 400, never stored', async () => {
    await checkProperty(
      'whatsapp.invalid_utf8',
      fc.asyncProperty(invalidUtf8, fc.nat(), async (bytes, at) => {
        const raw = withInvalidUtf8(metaJson(textWebhook([{ from: '15550002222', id: `wamid.utf8-${++serial}`, body: 'bytes' }])), bytes, at);
        expect(await postSignedAndCheck(raw)).toBe(400);
      }),
      40,
    );
  });

  it('signed bodies past the limit: 413', async () => {
    await checkProperty(
      'whatsapp.oversized',
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), async (over) => {
        const raw = metaJson(textWebhook([{ from: '15550003333', id: `wamid.big-${++serial}`, body: 'a'.repeat(MAX_WEBHOOK_BYTES + over) }]));
        expect(await postSignedAndCheck(raw, [413])).toBe(413);
      }),
      8,
    );
  });
});

describe('fuzz: WhatsApp signatures and the handshake', { timeout: fuzzTimeout() }, () => {
  // Header values as clients send them (printable ASCII; workerd warns about, and re-encodes, the rest).
  const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 100 });
  const wrongSignature = fc.oneof(
    fc.constant(null),
    headerValue,
    fc.stringMatching(/^sha256=[0-9a-f]{64}$/),
    fc.stringMatching(/^sha1=[0-9a-f]{40}$/),
    fc.constant('sha256='),
    fc.constant(`sha256=${'0'.repeat(64)}`),
  );

  it('a valid webhook with a wrong, malformed or missing signature: 401, nothing stored', async () => {
    await checkProperty(
      'whatsapp.wrong_signature',
      fc.asyncProperty(validWebhook, wrongSignature, async (webhook, signature) => {
        const raw = metaJson(webhook);
        // A random hex string could only match by a 2^-256 accident.
        expect(await postAndCheck(raw, signature, [401])).toBe(401);
      }),
      100,
    );
  });

  it('signed with another secret, or the signature of another body: 401', async () => {
    await checkProperty(
      'whatsapp.other_key_or_body',
      fc.asyncProperty(validWebhook, nastyString(40), fc.boolean(), async (webhook, otherSecret, otherBody) => {
        const raw = metaJson(webhook);
        const signature = otherBody ? await sign(`${raw} `) : await sign(raw, `${inject('whatsappAppSecret')}${otherSecret}x`);
        expect(await postAndCheck(raw, signature, [401])).toBe(401);
      }),
      60,
    );
  });

  it('GET handshake with random parameters: the challenge back only with the right mode and token, else 403', async () => {
    const param = fc.option(nastyString(80), { nil: undefined });
    await checkProperty(
      'whatsapp.handshake',
      fc.asyncProperty(param, param, param, fc.boolean(), async (mode, token, challenge, rightToken) => {
        const query = new URLSearchParams();
        if (mode !== undefined) query.set('hub.mode', mode);
        const sentToken = rightToken ? inject('whatsappVerifyToken') : token;
        if (sentToken !== undefined) query.set('hub.verify_token', sentToken);
        if (challenge !== undefined) query.set('hub.challenge', challenge);
        const response = await edgeFetch(`/webhooks/whatsapp?${query}`);
        expectNoServerError(response.status, 'GET /webhooks/whatsapp', [200, 403]);
        // What the edge decodes is what the parameters carry (lone surrogates become U+FFFD in the URL).
        const sent = new URL(`https://x/?${query}`).searchParams;
        const ok = sent.get('hub.mode') === 'subscribe' && sent.get('hub.verify_token') === inject('whatsappVerifyToken') && !!sent.get('hub.challenge');
        expect(response.status).toBe(ok ? 200 : 403);
        if (ok) expect(new Uint8Array(await response.arrayBuffer())).toEqual(new TextEncoder().encode(sent.get('hub.challenge') ?? ''));
      }),
      200,
    );
  });

  it('the handshake with the right token and random challenges echoes exactly the challenge, as text', async () => {
    await checkProperty(
      'whatsapp.handshake_challenge',
      fc.asyncProperty(nastyString(200).filter((s) => s.length > 0), async (challenge) => {
        const query = new URLSearchParams({ 'hub.mode': 'subscribe', 'hub.verify_token': inject('whatsappVerifyToken'), 'hub.challenge': challenge });
        const response = await edgeFetch(`/webhooks/whatsapp?${query}`);
        const sent = new URL(`https://x/?${query}`).searchParams.get('hub.challenge');
        expect(response.status).toBe(sent ? 200 : 403);
        if (sent) {
          expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
          // Bytes, not text(): text() would drop a leading BOM the challenge may start with.
          expect(new Uint8Array(await response.arrayBuffer())).toEqual(new TextEncoder().encode(sent));
        }
      }),
      100,
    );
  });

  it('every valid message posted between the garbage reached the core, and no handler threw', async () => {
    await expectClean();
  });
});
