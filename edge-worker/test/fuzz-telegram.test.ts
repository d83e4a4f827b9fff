import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BYTES } from '../src/app.js';
import {
  anyJson,
  applyMutation,
  checkProperty,
  deepNest,
  fuzzSuite,
  fuzzTimeout,
  invalidUtf8,
  messageCount,
  mutation,
  nastyString,
  postTelegram,
  sendWebhookAndCheck,
  withInvalidUtf8,
} from './fuzz-helpers.js';
import { textUpdate } from './helpers.js';

/**
 * POST /webhooks/telegram under garbage, with the right secret so everything reaches parsing:
 * random JSON, mutated valid updates, wrong types, deep nesting, huge strings, invalid UTF-8,
 * bodies past the limit. Each input is followed by a valid update, which must be stored and
 * delivered (a core stand-in drains the queue). Invariants: no 5xx, no handler that threw, and
 * a row in the Relay only when the edge answered 200 and said it stored one.
 */
const { mustDeliver, expectClean } = fuzzSuite('fuzz-telegram');
let chat = 8_000_000;

/** Posts `body` (any bytes) with the right secret, checks the invariants, then a valid update. */
async function postAndCheck(body: string | Uint8Array, allowed: readonly number[] = [200, 400]): Promise<number> {
  const status = await sendWebhookAndCheck('POST /webhooks/telegram', () => postTelegram(body), allowed);
  await validAround();
  return status;
}

/** A valid update right after the garbage: stored, and later delivered. */
async function validAround(): Promise<void> {
  const update = textUpdate(++chat, 'valid between garbage');
  const response = await postTelegram(update);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ stored: 1 });
  mustDeliver.add(`telegram:${chat}:${update.message.message_id}`);
}

/** A valid update with every field the schema reads, randomised within the Bot API's types. */
const validUpdate = fc.record({
  update_id: fc.nat(),
  message: fc.record(
    {
      message_id: fc.integer(),
      date: fc.nat(),
      chat: fc.record({ id: fc.integer(), type: fc.constantFrom('private', 'group', 'supergroup', 'channel'), title: fc.string() }, { requiredKeys: ['id', 'type'] }),
      from: fc.record({ id: fc.integer(), is_bot: fc.boolean(), first_name: nastyString(40), last_name: nastyString(40), username: fc.string() }, { requiredKeys: ['id', 'is_bot', 'first_name'] }),
      text: nastyString(300),
      caption: nastyString(50),
      entities: fc.array(fc.record({ type: fc.string(), offset: fc.nat(), length: fc.nat(), url: fc.webUrl() }, { requiredKeys: ['type', 'offset', 'length'] }), { maxLength: 5 }),
      document: fc.record({ file_id: fc.string(), file_name: nastyString(60), file_size: fc.nat(), mime_type: fc.string() }, { requiredKeys: ['file_id'] }),
      location: fc.record({ latitude: fc.double({ noNaN: true, noDefaultInfinity: true }), longitude: fc.double({ noNaN: true, noDefaultInfinity: true }) }),
      reply_to_message: fc.record({ message_id: fc.integer() }),
    },
    { requiredKeys: ['message_id', 'date', 'chat'] },
  ),
});

describe('fuzz: POST /webhooks/telegram', { timeout: fuzzTimeout() }, () => {
  it('random JSON of any shape: 200 or 400, never stored unless it is an Update', async () => {
    await checkProperty('telegram.random_json', fc.asyncProperty(anyJson, async (body) => void (await postAndCheck(JSON.stringify(body)))), 150);
  });

  it('valid updates with random content: stored (or ignored) and delivered', async () => {
    await checkProperty(
      'telegram.valid_random',
      fc.asyncProperty(validUpdate, async (update) => {
        const before = await messageCount();
        const response = await postTelegram(update);
        expect(response.status).toBe(200);
        const answer = (await response.json()) as { stored: number; duplicates: number; ignored: number };
        expect((await messageCount()) - before).toBe(answer.stored);
        if (answer.stored === 1) mustDeliver.add(`telegram:${update.message.chat.id}:${update.message.message_id}`);
        await validAround();
      }),
      150,
    );
  });

  it('mutated valid updates (a field of another type, deleted, huge, nasty; an extra key): no 5xx, nothing stored from a refusal', async () => {
    await checkProperty(
      'telegram.mutated',
      fc.asyncProperty(validUpdate, mutation, async (update, m) => void (await postAndCheck(JSON.stringify(applyMutation(update, m))))),
      200,
    );
  });

  it('nesting thousands of levels deep, in the body or inside a field', async () => {
    await checkProperty(
      'telegram.deep_nesting',
      fc.asyncProperty(fc.integer({ min: 100, max: 100_000 }), fc.boolean(), async (depth, inside) => {
        // Inside a field: as deep as JSON.stringify here can go; the whole body: built as text.
        const text = inside
          ? JSON.stringify({ ...textUpdate(++chat, 'nested'), extra: deepNest(Math.min(depth, 3_000)) })
          : '['.repeat(depth) + ']'.repeat(depth);
        await postAndCheck(text);
      }),
      30,
    );
  });

  it('invalid UTF-8 inside an otherwise valid update: refused, never stored', async () => {
    await checkProperty(
      'telegram.invalid_utf8',
      fc.asyncProperty(invalidUtf8, fc.nat(), async (bytes, at) => {
        const status = await postAndCheck(withInvalidUtf8(JSON.stringify(textUpdate(++chat, 'bytes')), bytes, at));
        expect(status).toBe(400);
      }),
      60,
    );
  });

  it('random bytes as the body', async () => {
    await checkProperty('telegram.random_bytes', fc.asyncProperty(fc.uint8Array({ maxLength: 4_096 }), async (bytes) => void (await postAndCheck(bytes))), 100);
  });

  it('bodies past the limit: 413, nothing stored, whatever their content', async () => {
    await checkProperty(
      'telegram.oversized',
      fc.asyncProperty(fc.integer({ min: 1, max: 200_000 }), fc.boolean(), async (over, valid) => {
        // Either a valid update padded past the limit (the limit must not depend on the content) or filler.
        const filler = 'a'.repeat(MAX_WEBHOOK_BYTES + over);
        const body = valid ? JSON.stringify(textUpdate(++chat, filler)) : filler;
        expect(await postAndCheck(body, [413])).toBe(413);
      }),
      10,
    );
  });

  it('every valid update posted between the garbage reached the core', async () => {
    await expectClean();
  });
});
