import { seal } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { TestTunnel, chatMessage, coreKeys, enqueue, freshRelay, postWebhook, telegramCalls, textUpdate, waitFor, type RelayStub } from './helpers.js';

/** Queues a message as the webhook does for a `/stop` (the flag comes from the plaintext, at the webhook). */
async function enqueueStop(stub: RelayStub, chatId: number, n: number) {
  const m = chatMessage(chatId, n, '/stop');
  const sealed = await seal(JSON.stringify(m), coreKeys());
  return (await stub.enqueue({ message_id: m.message_id, conversation_id: m.conversation.id, sealed }, { stops: true })).outcome;
}

describe('/stop while the core is generating', () => {
  it('tells the core holding the conversation to stop at once, then delivers the /stop after the ack', async () => {
    const { name, stub } = freshRelay('stop');
    await enqueue(stub, chatMessage(61, 1, 'tell me a very long story'));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(2);
    expect((await tunnel.next('deliver')).message_id).toBe('telegram:61:1');

    expect(await enqueueStop(stub, 61, 2)).toBe('stored');
    expect(await tunnel.next('cancel')).toMatchObject({ message_id: 'telegram:61:1' });
    // Order holds: the /stop is not delivered beside the message it stops.
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toEqual([]);

    tunnel.send({ type: 'ack', message_id: 'telegram:61:1', reply: { key: 'reply:telegram:61:1', text: 'Once upon a' } });
    expect((await tunnel.next('deliver')).message_id).toBe('telegram:61:2');
    tunnel.close();
  });

  it('is recognised at the webhook, where the text is still readable', async () => {
    await postWebhook(textUpdate(66, 'tell me a story'));
    const tunnel = await TestTunnel.viaRoute('core-stop');
    await tunnel.hello(1, 'core-stop');
    const delivery = await tunnel.next('deliver');
    expect((await postWebhook(textUpdate(66, '/stop@hearth_bot'))).status).toBe(200);
    expect(await tunnel.next('cancel')).toEqual({ v: 1, type: 'cancel', message_id: delivery.message_id });
    tunnel.close();
  });

  it('cancels nothing when nothing of the conversation is in flight, and nothing of other conversations', async () => {
    const { name, stub } = freshRelay('stop');
    await enqueue(stub, chatMessage(62, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    expect(await enqueueStop(stub, 63, 1)).toBe('stored');
    expect((await tunnel.barrier()).filter((f) => f.type === 'cancel')).toEqual([]);
    tunnel.close();
  });
});

describe('streamed reply text (partial frames)', () => {
  it('counts as progress: keeps the delivery and shows typing, and is not sent to the platform', async () => {
    const { name, stub } = freshRelay('stream');
    await enqueue(stub, chatMessage(64, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'partial', message_id: 'telegram:64:1', seq: 0, text: 'Once' });
    tunnel.send({ type: 'partial', message_id: 'telegram:64:1', seq: 1, text: ' upon' });
    await waitFor(
      async () => ((await telegramCalls()).some((c) => c.method === 'sendChatAction' && c.body.chat_id === '64') ? true : undefined),
      'typing shown',
    );
    await tunnel.barrier();
    expect((await telegramCalls()).filter((c) => c.method === 'sendMessage' && c.body.chat_id === '64')).toEqual([]);
    tunnel.close();
  });

  it('refuses a partial frame without text', async () => {
    const { name } = freshRelay('stream');
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    tunnel.ws.send(JSON.stringify({ v: 1, type: 'partial', message_id: 'telegram:65:1', seq: 0, text: '' }));
    expect(await tunnel.next('error')).toMatchObject({ code: 'bad_frame', fatal: false });
    tunnel.close();
  });
});
