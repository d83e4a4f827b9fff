import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * The walking skeleton, end to end: a Telegram update through the real edge (workerd), the
 * Relay, the tunnel, a real core running a real GGUF, and back out to the (fake) Bot API.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

const sendsTo = (chatId: number) => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === String(chatId));

/** Waits until `chatId` got a reply; the wait is the barrier that earlier work has drained. */
async function replyIn(chatId: number) {
  await system.telegram.waitFor(() => sendsTo(chatId).length > 0, 30_000);
  return sendsTo(chatId);
}

describe('Telegram → edge → Relay → tunnel → core → model → Telegram', () => {
  it('answers a message once, in the same chat, with text the model wrote', async () => {
    const update = textUpdate(1001, 'Once upon a time there was a fox');
    const started = Date.now();
    const response = await system.postUpdate(update);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });

    const [reply] = await replyIn(1001);
    const elapsed = reply!.at - started;
    expect(reply!.token).toBe('123456:E2E-token');
    expect(reply!.body).toMatchObject({
      chat_id: '1001',
      reply_parameters: { message_id: update.message.message_id, allow_sending_without_reply: true },
    });
    expect(String(reply!.body.text).trim().length).toBeGreaterThan(0);
    // The core logged this message as replied, once.
    const replied = system.core.lines.filter((l) => l.msg === 'replied' && l.messageId === `telegram:1001:${update.message.message_id}`);
    expect(replied).toHaveLength(1);
    console.info(`webhook → sendMessage: ${elapsed} ms (stories260K, 1 thread)`);

    // Later traffic has drained and still there is exactly one reply to that message.
    await system.postUpdate(textUpdate(1002, 'The end'));
    await replyIn(1002);
    expect(sendsTo(1001)).toHaveLength(1);
  });

  it('answers a retried update once', async () => {
    const update = textUpdate(1003, 'Tell me a story');
    const bodies = await Promise.all([system.postUpdate(update), system.postUpdate(update)].map(async (r) => (await r).json()));
    expect(bodies.map((b) => (b as { duplicates: number }).duplicates).sort()).toEqual([0, 1]);
    await replyIn(1003);
    await system.postUpdate(textUpdate(1004, 'and another'));
    await replyIn(1004);
    expect(sendsTo(1003)).toHaveLength(1);
  });

  it('keeps a conversation in order across several messages', async () => {
    const updates = ['first', 'second', 'third'].map((text) => textUpdate(1005, text));
    for (const update of updates) expect((await system.postUpdate(update)).status).toBe(200);
    await system.telegram.waitFor(() => sendsTo(1005).length === 3, 30_000);
    expect(sendsTo(1005).map((c) => (c.body.reply_parameters as { message_id: number }).message_id)).toEqual(
      updates.map((u) => u.message.message_id),
    );
  });

  describe('refused or ignored updates never reach the core or the Bot API', () => {
    const cases: [string, () => Promise<Response>, number][] = [
      ['a wrong secret', () => system.postUpdate(textUpdate(2001, 'let me in'), 'wrong-secret-wrong-secret'), 401],
      ['no secret', () => system.postUpdate(textUpdate(2002, 'let me in'), null), 401],
      ['a body that is not JSON', () => system.postUpdate('{"update_id":'), 400],
      ['JSON that is not an Update', () => system.postUpdate({ chat: 2003, text: 'hi' }), 400],
      [
        'a message with nothing to answer (a service message)',
        () => system.postUpdate({ update_id: 5, message: { message_id: 1, date: 1, chat: { id: 2004, type: 'private' }, new_chat_members: [{ id: 1, is_bot: false, first_name: 'X' }] } }),
        200,
      ],
    ];

    it.each(cases)('%s', async (_name, send, status) => {
      const response = await send();
      expect(response.status).toBe(status);
      const body = (await response.json()) as { ok: boolean; error?: { code: string } };
      expect(body.ok).toBe(status === 200);
    });

    it('after all of them', async () => {
      // A valid message after the refused ones: once it is answered, anything queued before it was too.
      await system.postUpdate(textUpdate(2999, 'still there?'));
      await replyIn(2999);
      for (const chat of [2001, 2002, 2003, 2004]) {
        expect(sendsTo(chat)).toEqual([]);
        expect(system.core.lines.filter((l) => String(l.messageId ?? '').startsWith(`telegram:${chat}:`))).toEqual([]);
      }
      // Each refusal left a log line at the edge.
      expect(system.edgeLines.filter((l) => l.includes('"event":"request_rejected"')).length).toBeGreaterThanOrEqual(4);
    });
  });
});
