import { PING, PONG, unseal } from '@hearth/shared';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { TestTunnel, chatMessage, coreKeys, enqueue, failTelegram, freshRelay, repliesSettled, replyStored, telegramCalls, waitFor, type RelayStub } from './helpers.js';

/** Every row of every table of the object, as one string to search for content. */
const storageDump = (stub: RelayStub) =>
  runInDurableObject(stub, (_r, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'")
      .toArray();
    return JSON.stringify(tables.map(({ name: table }) => state.storage.sql.exec(`SELECT * FROM "${table}"`).toArray()));
  });

describe('Relay', () => {
  it('delivers a queued message sealed, and forgets it once acked', async () => {
    const { name, stub } = freshRelay('relay');
    await enqueue(stub, chatMessage(1, 1, 'hello core'));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(4);
    const delivery = await tunnel.next('deliver');
    expect(delivery).toMatchObject({ message_id: 'telegram:1:1', conversation_id: 'telegram:1', attempt: 1 });
    expect(JSON.parse(await unseal(delivery.sealed, coreKeys()))).toEqual(chatMessage(1, 1, 'hello core'));

    await tunnel.ack('telegram:1:1');
    const pending = await runInDurableObject(stub, (_r, state) =>
      state.storage.sql.exec('SELECT COUNT(*) AS n FROM messages WHERE acked_at IS NULL').one(),
    );
    expect(pending.n).toBe(0);
    tunnel.close();
  });

  it('keeps one delivery in flight per conversation, in arrival order', async () => {
    const { name, stub } = freshRelay('relay');
    for (const n of [1, 2, 3]) await enqueue(stub, chatMessage(7, n));
    await enqueue(stub, chatMessage(8, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(10);
    const first = (await tunnel.barrier()).filter((f) => f.type === 'deliver').map((f) => f.message_id);
    // Conversation 7's head and conversation 8's head, nothing more, despite 10 credits.
    expect(first).toEqual(['telegram:7:1', 'telegram:8:1']);

    const order: string[] = [];
    for (const expected of ['telegram:7:2', 'telegram:7:3']) {
      tunnel.send({ type: 'ack', message_id: order.at(-1) ?? 'telegram:7:1' });
      const next = await tunnel.next('deliver');
      order.push(next.message_id);
      expect(next.message_id).toBe(expected);
    }
    tunnel.close();
  });

  it('never holds more unacked deliveries on a core than its window', async () => {
    const { name, stub } = freshRelay('relay');
    for (const chat of [11, 12, 13, 14, 15]) await enqueue(stub, chatMessage(chat, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(2);
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toHaveLength(2);

    // Each frame's effect before the next frame: the pool may reorder back-to-back frames.
    await tunnel.credit(3);
    await tunnel.next('deliver');
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toHaveLength(0);

    await tunnel.credit(0);
    await tunnel.ack('telegram:11:1');
    // Window 0: the freed slot is not refilled.
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toHaveLength(0);
    expect((await stub.stats()).cores).toEqual([{ core_id: 'core-a', window: 0, in_flight: 2 }]);
    tunnel.close();
  });

  it('redelivers what a closed tunnel held, counting the attempt', async () => {
    const { name, stub } = freshRelay('relay');
    await enqueue(stub, chatMessage(21, 1));
    const first = await TestTunnel.toRelay(name, 'core-a');
    await first.hello(1, 'core-a');
    expect((await first.next('deliver')).attempt).toBe(1);
    first.close();
    await first.waitClosed();

    const second = await TestTunnel.toRelay(name, 'core-b');
    await second.hello(1, 'core-b');
    const again = await second.next('deliver');
    expect(again).toMatchObject({ message_id: 'telegram:21:1', attempt: 2 });
    await second.ack('telegram:21:1');
    second.close();
  });

  it('sends a reply once per idempotency key, threaded under the message it answers', async () => {
    const { name, stub } = freshRelay('relay');
    await enqueue(stub, chatMessage(31, 5));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: 'telegram:31:5', reply: { key: 'reply:telegram:31:5', text: 'hi Ada' } });
    await replyStored(stub, 'reply:telegram:31:5');
    // The same key again, as a second core answering a redelivery would, and as a push.
    await tunnel.ack('telegram:31:5', { key: 'reply:telegram:31:5', text: 'hi again' });
    tunnel.send({ type: 'reply', key: 'reply:telegram:31:5', conversation_id: 'telegram:31', in_reply_to: null, text: 'and again' });
    await tunnel.next('reply_stored');

    // The duplicates were dropped at insert: one row, one call (a stored duplicate would hold this wait until sent).
    await repliesSettled(stub);
    const sent = (await telegramCalls()).filter((c) => c.method === 'sendMessage' && c.body.chat_id === '31');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toEqual({ chat_id: '31', text: 'hi Ada', reply_parameters: { message_id: 5, allow_sending_without_reply: true } });
    tunnel.close();
  });

  it('keeps no readable content at rest: sealed while queued, forgotten once answered and sent', async () => {
    const { name, stub } = freshRelay('relay');
    const secret = 'my IBAN is DE89370400440532013000';
    await enqueue(stub, chatMessage(33, 1, secret));
    const dump = () => storageDump(stub);
    const queued = await dump();
    expect(queued).toContain('telegram:33:1');
    expect(queued).not.toContain('DE89');

    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: 'telegram:33:1', reply: { key: 'reply:telegram:33:1', text: 'noted, DE89…3000' } });
    await waitFor(async () => ((await telegramCalls()).some((c) => c.body.chat_id === '33') ? true : undefined), 'the reply sent');
    await waitFor(async () => (!(await dump()).includes('noted') ? true : undefined), 'the reply text forgotten');
    const answered = await dump();
    expect(answered).not.toContain('DE89');
    expect(answered).toContain('reply:telegram:33:1');
    tunnel.close();
  });

  it('keeps no readable content of a reply that failed for good: the key and the reason only', async () => {
    const { name, stub } = freshRelay('relay');
    await failTelegram({ chatId: '34', status: 403, description: 'Forbidden: bot was blocked by the user' });
    await enqueue(stub, chatMessage(34, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({
      type: 'ack',
      message_id: 'telegram:34:1',
      // Letters, not digits: a stored timestamp may hold any run of digits.
      reply: { key: 'reply:telegram:34:1', text: 'your PIN is QXZV', buttons: [[{ label: 'PIN QXZV ok', data: 'fb:u:r1' }]] },
    });
    await waitFor(async () => ((await telegramCalls()).some((c) => c.body.chat_id === '34') ? true : undefined), 'the reply tried');
    const failed = await waitFor(
      () =>
        runInDurableObject(stub, (_r, state) =>
          state.storage.sql.exec("SELECT * FROM outbox WHERE key = 'reply:telegram:34:1' AND failed_at IS NOT NULL").toArray()[0],
        ),
      'the reply given up',
    );
    expect(failed).toMatchObject({ last_error: 'Forbidden: bot was blocked by the user', text: '', buttons: null });
    expect(await storageDump(stub)).not.toContain('QXZV');
    tunnel.close();
  });

  it('shows "typing…" while the core reports progress, at most every few seconds per chat', async () => {
    const { name, stub } = freshRelay('relay');
    await enqueue(stub, chatMessage(35, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    for (let i = 0; i < 3; i++) await tunnel.progress('telegram:35:1');
    // The answer goes out after every progress was handled: a second "typing…" would have gone before it.
    await tunnel.ack('telegram:35:1', { key: 'reply:telegram:35:1', text: 'done' });
    await repliesSettled(stub);
    const calls = (await telegramCalls()).filter((c) => c.body.chat_id === '35');
    expect(calls.map((c) => c.method)).toEqual(['sendChatAction', 'sendMessage']);
    expect(calls[0]!.body).toEqual({ chat_id: '35', action: 'typing' });
    tunnel.close();
  });

  it('answers the heartbeat without the Relay and refuses another protocol version', async () => {
    const { name } = freshRelay('relay');
    const tunnel = await TestTunnel.toRelay(name);
    tunnel.ws.send(PING);
    expect(await tunnel.next('pong')).toEqual(JSON.parse(PONG));

    tunnel.ws.send(JSON.stringify({ v: 2, type: 'hello', core_id: 'core-a', credits: 1, shiny: true }));
    const error = await tunnel.next('error');
    expect(error).toMatchObject({ code: 'protocol_mismatch', fatal: true });
    expect(error.message).toContain('upgrade the edge');
    expect((await tunnel.waitClosed()).code).toBe(4001);
  });

  it('answers a malformed frame with a non-fatal error and stays up', async () => {
    const { name } = freshRelay('relay');
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    tunnel.ws.send('{"v":1,"type":"ack"}');
    expect(await tunnel.next('error')).toMatchObject({ code: 'bad_frame', fatal: false });
    await tunnel.barrier();
    expect(tunnel.closed).toBeUndefined();
    tunnel.close();
  });
});
