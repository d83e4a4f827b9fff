import fc from 'fast-check';
import { describe, expect, inject, it } from 'vitest';
import { slackHeaders, slackSignatureOf } from '../../tests/fakes/slack-payloads.js';
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
import { dmEvent, eventCallback, FORM, mentionEvent, pressBody } from './slack-helpers.js';

/**
 * The Slack webhook under garbage. POSTs are signed now with the signing secret, as Slack signs
 * them, so they pass the signature and reach parsing: random JSON, mutated valid events,
 * invalid UTF-8, oversized bodies. Wrong signatures and stale timestamps of every kind are
 * refused before parsing. Each input is followed by a valid signed DM, which must be stored and
 * delivered.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-slack');
let serial = 0;
const secret = () => inject('slackSigningSecret');

function postSlackRaw(raw: string | Uint8Array, headers: Record<string, string>): Promise<Response> {
  return edgeFetch('/webhooks/slack', { method: 'POST', headers, body: raw });
}

/** Slack's headers for these bytes, signed now. */
const signedHeaders = (raw: string | Uint8Array) => slackHeaders(raw, secret());

async function postSignedAndCheck(raw: string | Uint8Array, allowed: readonly number[] = [200, 400]): Promise<number> {
  return postAndCheck(raw, await signedHeaders(raw), allowed);
}

async function postAndCheck(raw: string | Uint8Array, headers: Record<string, string>, allowed: readonly number[]): Promise<number> {
  const status = await sendWebhookAndCheck('POST /webhooks/slack', () => postSlackRaw(raw, headers), allowed);
  await validAround();
  return status;
}

async function validAround(): Promise<void> {
  const ts = `1764000000.${String(++serial).padStart(6, '0')}`;
  const raw = JSON.stringify(eventCallback(dmEvent('D0FUZZOK1', 'U0ADA0001', ts, 'valid between garbage')));
  const response = await postSlackRaw(raw, await signedHeaders(raw));
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ stored: 1 });
  mustDeliver.add(`slack:D0FUZZOK1:${ts}`);
}

const slackId = (prefix: string) => fc.stringMatching(/^[A-Z0-9]{4,11}$/).map((s) => `${prefix}${s}`);
const ts = fc.tuple(fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }), fc.integer({ min: 0, max: 999_999 })).map(([s, us]) => `${s}.${String(us).padStart(6, '0')}`);

/** A valid event callback with a random event of the kinds the edge reads or ignores. */
const validCallback = fc
  .record({
    kind: fc.constantFrom('dm', 'mention', 'thread', 'bot', 'subtype', 'files', 'other_event'),
    channel: slackId('D'),
    room: slackId('C'),
    user: slackId('U'),
    ts,
    root: ts,
    text: nastyString(200),
    subtype: nastyString(30),
    filename: nastyString(60),
  })
  .map((e) => {
    switch (e.kind) {
      case 'mention':
        return eventCallback(mentionEvent(e.room, e.user, e.ts, e.text));
      case 'thread':
        return eventCallback(dmEvent(e.channel, e.user, e.ts, e.text, e.root));
      case 'bot':
        return eventCallback({ ...dmEvent(e.channel, e.user, e.ts, e.text), bot_id: 'B0HEARTH1' });
      case 'subtype':
        return eventCallback({ ...dmEvent(e.channel, e.user, e.ts, e.text), subtype: e.subtype });
      case 'files':
        return eventCallback({ ...dmEvent(e.channel, e.user, e.ts, e.text), subtype: 'file_share', files: [{ id: 'F0FILE001', name: e.filename, mimetype: 'image/png', size: 10 }] });
      case 'other_event':
        return eventCallback({ type: e.subtype, user: e.user, event_ts: e.ts });
      default:
        return eventCallback(dmEvent(e.channel, e.user, e.ts, e.text));
    }
  });

const idOf = (callback: { event: Record<string, unknown> }) => `slack:${String(callback.event.channel)}:${String(callback.event.ts)}`;

describe('fuzz: POST /webhooks/slack, correctly signed', { timeout: fuzzTimeout() }, () => {
  it('random JSON: 200 or 400, stored only when it is an event callback with a message', async () => {
    // A random url_verification would answer its challenge, not counts: checked on its own below.
    const notChallenge = anyJson.filter((v) => !(v && typeof v === 'object' && (v as { type?: unknown }).type === 'url_verification'));
    await checkProperty('slack.random_json', fc.asyncProperty(notChallenge, async (body) => void (await postSignedAndCheck(JSON.stringify(body)))), 150);
  });

  it('valid callbacks with random events: 200, each stored message delivered', async () => {
    await checkProperty(
      'slack.valid_random',
      fc.asyncProperty(validCallback, async (callback) => {
        const raw = JSON.stringify(callback);
        const before = await messageCount();
        const response = await postSlackRaw(raw, await signedHeaders(raw));
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { stored: number; duplicates: number; ignored: number };
        expect((await messageCount()) - before).toBe(answer.stored);
        expect(answer.stored + answer.duplicates + answer.ignored).toBe(1);
        for (const row of await storedRows(idOf(callback))) mustDeliver.add(row.message_id);
        await validAround();
      }),
      100,
    );
  });

  it('mutated valid callbacks: no 5xx, nothing stored from a refusal', async () => {
    await checkProperty(
      'slack.mutated',
      fc.asyncProperty(validCallback, mutation, async (callback, m) => void (await postSignedAndCheck(JSON.stringify(applyMutation(callback, m))))),
      200,
    );
  });

  it('invalid UTF-8 in a signed body: 400, never stored', async () => {
    await checkProperty(
      'slack.invalid_utf8',
      fc.asyncProperty(invalidUtf8, fc.nat(), async (bytes, at) => {
        const raw = withInvalidUtf8(JSON.stringify(eventCallback(dmEvent('D0FUZZUTF', 'U0ADA0001', `1764000001.${++serial}`, 'bytes'))), bytes, at);
        expect(await postSignedAndCheck(raw)).toBe(400);
      }),
      40,
    );
  });

  it('signed bodies past the limit: 413', async () => {
    await checkProperty(
      'slack.oversized',
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), async (over) => {
        const raw = JSON.stringify(eventCallback(dmEvent('D0FUZZBIG', 'U0ADA0001', `1764000002.${++serial}`, 'a'.repeat(MAX_WEBHOOK_BYTES + over))));
        expect(await postSignedAndCheck(raw, [413])).toBe(413);
      }),
      8,
    );
  });

  it('interactivity: random and mutated block_actions payloads, form-encoded: 200 or 400', async () => {
    const press = fc.record({ channel: slackId('D'), user: slackId('U'), ts, value: nastyString(100) }).map((p) => {
      const payload = new URLSearchParams(pressBody(p.channel, p.user, p.ts, p.value)).get('payload') ?? '';
      return JSON.parse(payload) as Record<string, unknown>;
    });
    const payload = fc.oneof(anyJson, press, fc.tuple(press, mutation).map(([valid, m]) => applyMutation(valid, m)));
    await checkProperty(
      'slack.interactivity',
      fc.asyncProperty(payload, fc.boolean(), async (body, asForm) => {
        const raw = asForm ? new URLSearchParams({ payload: JSON.stringify(body) }).toString() : `payload=${JSON.stringify(body)}`;
        await postAndCheck(raw, { ...(await signedHeaders(raw)), ...FORM }, [200, 400]);
      }),
      150,
    );
  });

  it('url_verification with random challenges: the challenge back exactly, or 400', async () => {
    await checkProperty(
      'slack.challenge',
      fc.asyncProperty(nastyString(200), async (challenge) => {
        const raw = JSON.stringify({ token: 'x', type: 'url_verification', challenge });
        const response = await postSlackRaw(raw, await signedHeaders(raw));
        expectNoServerError(response.status, 'POST /webhooks/slack url_verification', [200, 400]);
        expect(response.status).toBe(challenge.length > 0 ? 200 : 400);
        if (response.status === 200) expect(await response.json()).toEqual({ challenge });
      }),
      100,
    );
  });
});

describe('fuzz: Slack signatures and timestamps', { timeout: fuzzTimeout() }, () => {
  // Header values as clients send them (printable ASCII; workerd warns about, and re-encodes, the rest).
  const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 100 });
  const wrongSignature = fc.oneof(fc.constant(null), headerValue, fc.stringMatching(/^v0=[0-9a-f]{64}$/), fc.constant('v0='), fc.constant(`v0=${'0'.repeat(64)}`));

  it('a valid callback with a wrong, malformed or missing signature: 401, nothing stored', async () => {
    await checkProperty(
      'slack.wrong_signature',
      fc.asyncProperty(validCallback, wrongSignature, async (callback, signature) => {
        const raw = JSON.stringify(callback);
        const headers = await signedHeaders(raw);
        if (signature === null) delete headers['X-Slack-Signature'];
        else headers['X-Slack-Signature'] = signature;
        // A random hex string could only match by a 2^-256 accident.
        expect(await postAndCheck(raw, headers, [401])).toBe(401);
      }),
      100,
    );
  });

  it('signed with another secret, for another body, or stamped more than 5 minutes off: 401', async () => {
    await checkProperty(
      'slack.other_key_body_or_time',
      fc.asyncProperty(
        validCallback,
        nastyString(40),
        fc.constantFrom('secret', 'body', 'time'),
        fc.integer({ min: 301, max: 10 ** 9 }),
        fc.boolean(),
        async (callback, otherSecret, what, offset, ahead) => {
          const raw = JSON.stringify(callback);
          const now = Math.floor(Date.now() / 1000);
          const timestamp = String(what === 'time' ? Math.max(0, now + (ahead ? offset : -offset)) : now);
          const signature =
            what === 'secret'
              ? await slackSignatureOf(raw, timestamp, `${secret()}${otherSecret}x`)
              : await slackSignatureOf(what === 'body' ? `${raw} ` : raw, timestamp, secret());
          const headers = { 'content-type': 'application/json', 'X-Slack-Request-Timestamp': timestamp, 'X-Slack-Signature': signature };
          expect(await postAndCheck(raw, headers, [401])).toBe(401);
        },
      ),
      80,
    );
  });

  it('every valid message posted between the garbage reached the core, and no handler threw', async () => {
    await expectClean();
  });
});
