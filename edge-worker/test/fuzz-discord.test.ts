import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { discordHeaders, discordKeyPair, discordSignatureOf } from '../../tests/fakes/discord-payloads.js';
import { MAX_WEBHOOK_BYTES } from '../src/app.js';
import { anyJson, applyMutation, checkProperty, edgeFetch, expectNoServerError, fuzzSuite, fuzzTimeout, invalidUtf8, messageCount, mutation, nastyString, withInvalidUtf8 } from './fuzz-helpers.js';
import { storedRows } from './helpers.js';
import { GUILD_ID, commandInteraction, pingInteraction, pressInteraction, privateKey, snowflake } from './discord-helpers.js';

/**
 * The Discord webhook under garbage. POSTs are signed now with the application's key, as
 * Discord signs them, so they pass the signature and reach parsing: random JSON, random and
 * mutated interactions, invalid UTF-8, oversized bodies. Wrong signatures, another key, another
 * body and stale timestamps are refused before parsing. Each input is followed by a valid
 * signed /ask, which must be stored and delivered.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-discord');
const CHANNEL = '1800000000000000001';
const ADA = '80351110224678912';

function postDiscordRaw(raw: string | Uint8Array, headers: Record<string, string>): Promise<Response> {
  return edgeFetch('/webhooks/discord', { method: 'POST', headers, body: raw });
}

const signedHeaders = (raw: string | Uint8Array) => discordHeaders(raw, privateKey());

/** Answers that take a message in: a command's deferred response, a press's deferred update. */
const TAKES_A_MESSAGE = new Set([5, 6]);

/**
 * Posts and checks what the Discord webhook keeps to: an allowed status (never a 5xx); a refusal
 * is `ok: false` and stores nothing; a 200 stores at most the one message its answer says it
 * took (none for a PONG, an ignored interaction or a note), exactly one when `fresh`.
 */
async function postAndCheck(raw: string | Uint8Array, headers: Record<string, string>, allowed: readonly number[], fresh = false): Promise<number> {
  const before = await messageCount();
  const response = await postDiscordRaw(raw, headers);
  expectNoServerError(response.status, 'POST /webhooks/discord', allowed);
  const answer = (await response.json()) as { ok?: boolean; type?: number };
  const stored = (await messageCount()) - before;
  if (response.status !== 200) {
    expect(answer.ok).toBe(false);
    expect(stored).toBe(0);
  } else if (answer.type !== undefined && TAKES_A_MESSAGE.has(answer.type)) {
    // Exactly one when the interaction is new; a mutation may keep the id of one stored before (a duplicate).
    if (fresh) expect(stored).toBe(1);
    else expect(stored).toBeLessThanOrEqual(1);
  } else {
    expect(stored).toBe(0);
  }
  await validAround();
  return response.status;
}

const postSignedAndCheck = async (raw: string | Uint8Array, allowed: readonly number[] = [200, 400], fresh = false) =>
  postAndCheck(raw, await signedHeaders(raw), allowed, fresh);

async function validAround(): Promise<void> {
  const body = commandInteraction({ channel: CHANNEL, user: ADA }, 'valid between garbage');
  const raw = JSON.stringify(body);
  const response = await postDiscordRaw(raw, await signedHeaders(raw));
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ type: 5 });
  mustDeliver.add(`discord:${CHANNEL}:${body.id}`);
}

const snowflakeId = fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }).map(String);

/** A valid interaction of the kinds the edge reads or ignores, with a fresh id. */
const validInteraction = fc
  .record({
    kind: fc.constantFrom('ask', 'guild', 'command', 'press', 'ping', 'autocomplete'),
    channel: snowflakeId,
    user: snowflakeId,
    text: nastyString(300),
    name: fc.constantFrom('reset', 'remember', 'forget', 'context', 'help', 'stop', 'model'),
    customId: nastyString(100).filter((s) => s.length >= 1 && s.length <= 100),
  })
  .map((i) => () => {
    const where = { channel: i.channel, user: i.user, id: snowflake() };
    switch (i.kind) {
      case 'guild':
        return commandInteraction({ ...where, guild: GUILD_ID }, i.text);
      case 'command':
        return commandInteraction(where, undefined, i.name, i.name === 'remember' || i.name === 'forget' ? { arg: i.text } : {});
      case 'press':
        return pressInteraction(where, snowflake(), i.customId);
      case 'ping':
        return pingInteraction();
      case 'autocomplete':
        return { ...commandInteraction(where, i.text), type: 4 };
      default:
        return commandInteraction(where, i.text);
    }
  });

describe('fuzz: POST /webhooks/discord, correctly signed', { timeout: fuzzTimeout() }, () => {
  it('random JSON: 200 or 400, stored only what the answer took', async () => {
    await checkProperty('discord.random_json', fc.asyncProperty(anyJson, async (body) => void (await postSignedAndCheck(JSON.stringify(body)))), 150);
  });

  it('valid interactions with random content: 200; a command or press stored once, anything else never', async () => {
    await checkProperty(
      'discord.valid_random',
      fc.asyncProperty(validInteraction, async (make) => {
        const body = make();
        expect(await postSignedAndCheck(JSON.stringify(body), [200], true)).toBe(200);
        // A command without text is answered with a note and not stored.
        const id = `discord:${'channel_id' in body ? body.channel_id : ''}:${body.id}`;
        for (const row of await storedRows(id)) mustDeliver.add(row.message_id);
      }),
      100,
    );
  });

  it('mutated valid interactions: no 5xx, nothing stored from a refusal', async () => {
    await checkProperty(
      'discord.mutated',
      fc.asyncProperty(validInteraction, mutation, async (make, m) => void (await postSignedAndCheck(JSON.stringify(applyMutation(make(), m))))),
      200,
    );
  });

  it('invalid UTF-8 in a signed body: 400, never stored', async () => {
    await checkProperty(
      'discord.invalid_utf8',
      fc.asyncProperty(invalidUtf8, fc.nat(), async (bytes, at) => {
        const raw = withInvalidUtf8(JSON.stringify(commandInteraction({ channel: CHANNEL, user: ADA }, 'bytes')), bytes, at);
        expect(await postSignedAndCheck(raw)).toBe(400);
      }),
      40,
    );
  });

  it('signed bodies past the limit: 413', async () => {
    await checkProperty(
      'discord.oversized',
      fc.asyncProperty(fc.integer({ min: 1, max: 100_000 }), async (over) => {
        const raw = JSON.stringify(commandInteraction({ channel: CHANNEL, user: ADA }, 'a'.repeat(MAX_WEBHOOK_BYTES + over)));
        expect(await postSignedAndCheck(raw, [413])).toBe(413);
      }),
      8,
    );
  });
});

describe('fuzz: Discord signatures and timestamps', { timeout: fuzzTimeout() }, () => {
  const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 140 });
  const wrongSignature = fc.oneof(fc.constant(null), headerValue, fc.stringMatching(/^[0-9a-f]{128}$/), fc.constant('0'.repeat(128)));

  it('a valid interaction with a wrong, malformed or missing signature: 401, nothing stored', async () => {
    await checkProperty(
      'discord.wrong_signature',
      fc.asyncProperty(validInteraction, wrongSignature, async (make, signature) => {
        const raw = JSON.stringify(make());
        const headers = await signedHeaders(raw);
        if (signature === null) delete headers['X-Signature-Ed25519'];
        else headers['X-Signature-Ed25519'] = signature;
        // A random signature could only verify by an accident of 2^-128 odds.
        expect(await postAndCheck(raw, headers, [401])).toBe(401);
      }),
      100,
    );
  });

  it('signed with another key, for another body, or stamped more than 5 minutes off: 401', async () => {
    const other = await discordKeyPair();
    await checkProperty(
      'discord.other_key_body_or_time',
      fc.asyncProperty(validInteraction, fc.constantFrom('key', 'body', 'time'), fc.integer({ min: 301, max: 10 ** 9 }), fc.boolean(), async (make, what, offset, ahead) => {
        const raw = JSON.stringify(make());
        const now = Math.floor(Date.now() / 1000);
        const timestamp = String(what === 'time' ? Math.max(0, now + (ahead ? offset : -offset)) : now);
        const signature = await discordSignatureOf(what === 'body' ? `${raw} ` : raw, timestamp, what === 'key' ? other.privateKey : privateKey());
        const headers = { 'content-type': 'application/json', 'X-Signature-Timestamp': timestamp, 'X-Signature-Ed25519': signature };
        expect(await postAndCheck(raw, headers, [401])).toBe(401);
      }),
      80,
    );
  });

  it('every valid message posted between the garbage reached the core, and no handler threw', async () => {
    await expectClean();
  });
});
