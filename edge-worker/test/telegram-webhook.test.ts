import { MessageSchema, unseal } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { MAX_WEBHOOK_BYTES } from '../src/app.js';
import { coreKeys, postWebhook, storedRows, telegramCalls, textUpdate } from './helpers.js';


describe('POST /webhooks/telegram', () => {
  it('commits a text message in the Relay, sealed, before answering 200', async () => {
    const update = textUpdate(4242, 'my card is 4111 1111 1111 1111');
    const response = await postWebhook(update);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });

    const [row] = await storedRows(`telegram:4242:${update.message.message_id}`);
    expect(row).toMatchObject({ conversation_id: 'telegram:4242' });
    // The edge stores no readable content: only the core's key opens it.
    expect(row!.sealed).not.toContain('4111');
    const message = MessageSchema.parse(JSON.parse(await unseal(row!.sealed, coreKeys())));
    expect(message).toEqual({
      message_id: `telegram:4242:${update.message.message_id}`,
      platform: 'telegram',
      conversation: { id: 'telegram:4242', type: 'private' },
      sender: { id: 'telegram:4242', name: 'Ada Lovelace' },
      content: { text: 'my card is 4111 1111 1111 1111', attachments: [], entities: [] },
      reply_to: null,
      timestamp: 1_764_000_000,
    });
  });

  it('stores an update Telegram retries once, and says it was a duplicate', async () => {
    const update = textUpdate(4343, 'hello twice');
    const [first, second] = await Promise.all([postWebhook(update), postWebhook(update)]);
    expect([first!.status, second!.status]).toEqual([200, 200]);
    const counts = [await first!.json(), await second!.json()].map((body) => (body as { duplicates: number }).duplicates);
    expect(counts.sort()).toEqual([0, 1]);
    expect(await storedRows(`telegram:4343:${update.message.message_id}`)).toHaveLength(1);
  });

  it('keeps entities, replies and group chats in the normalized message', async () => {
    const update = {
      update_id: 77,
      message: {
        message_id: 9,
        date: 1_764_000_001,
        chat: { id: -100123, type: 'supergroup', title: 'Lab' },
        from: { id: 5, is_bot: false, first_name: 'Grace' },
        text: '/ask see https://example.org',
        entities: [
          { type: 'bot_command', offset: 0, length: 4 },
          { type: 'url', offset: 9, length: 19 },
        ],
        reply_to_message: { message_id: 8, date: 1, chat: { id: -100123, type: 'supergroup' } },
      },
    };
    expect((await postWebhook(update)).status).toBe(200);
    const [row] = await storedRows('telegram:-100123:9');
    const message = MessageSchema.parse(JSON.parse(await unseal(row!.sealed, coreKeys())));
    expect(message.conversation).toEqual({ id: 'telegram:-100123', type: 'group' });
    expect(message.reply_to).toBe('telegram:-100123:8');
    expect(message.content.entities).toEqual([
      { type: 'bot_command', offset: 0, length: 4, value: '/ask' },
      { type: 'url', offset: 9, length: 19, value: 'https://example.org' },
    ]);
  });

  it.each([
    ['no secret header', null],
    ['a wrong secret', 'test-webhook-secret-0123456780'],
    ['an empty secret', ''],
  ])('answers 401 to %s and stores nothing', async (_name, secret) => {
    const update = textUpdate(4444, 'let me in');
    const response = await postWebhook(update, secret);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await storedRows(`telegram:4444:${update.message.message_id}`)).toEqual([]);
  });

  it.each([
    ['a body that is not JSON', '{"update_id": 1, "message": '],
    ['JSON that is not an Update', { hello: 'world' }],
    ['an Update with a wrongly typed field', { update_id: 'one', message: { text: 'hi' } }],
    ['a message without a chat', { update_id: 5, message: { message_id: 1, date: 1, text: 'hi' } }],
  ])('answers 400 to %s', async (_name, body) => {
    const response = await postWebhook(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('answers 413 to a body over the limit', async () => {
    const update = textUpdate(4545, 'x'.repeat(MAX_WEBHOOK_BYTES));
    const response = await postWebhook(update);
    expect(response.status).toBe(413);
    expect(await storedRows(`telegram:4545:${update.message.message_id}`)).toEqual([]);
  });

  it.each([
    ['an update type not handled', { update_id: 6, poll: { id: 'p', question: '?', options: [] } }],
    [
      'a message with no content (a service message)',
      { update_id: 7, message: { message_id: 4, date: 1, chat: { id: 4646, type: 'private' }, new_chat_members: [{ id: 1, is_bot: false, first_name: 'X' }] } },
    ],
  ])('answers 200 to %s and drops it, so Telegram does not retry', async (_name, update) => {
    const response = await postWebhook(update);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 0, ignored: 1 });
    expect(await storedRows('telegram:4646:3', 'telegram:4646:4')).toEqual([]);
  });

  it('never calls the Bot API for rejected or ignored updates', async () => {
    await postWebhook(textUpdate(4747, 'bad secret'), 'nope-nope-nope-nope-nope');
    await postWebhook('not json');
    const calls = await telegramCalls();
    expect(calls.filter((call) => String(call.body.chat_id) === '4747')).toEqual([]);
  });
});
