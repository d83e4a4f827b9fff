import { approvalButtonData, MessageSchema, seal, unseal, type Message } from '@hearth/shared';
import { describe, expect, inject, it } from 'vitest';
import buttonReply from './fixtures/whatsapp/interactive-button-reply.json';
import { TestTunnel, chatMessage, coreKeys, enqueue, freshRelay, postWebhook, textUpdate, type RelayStub } from './helpers.js';
import { postWhatsApp, textWebhook } from './whatsapp-helpers.js';

const QUESTION = 'Q7xk2mP9vR4tW1yZ3bN5cA';

/** A press of an approval button in `chatId`, as the Telegram normalizer makes it. */
function pressMessage(chatId: number, n: number, data = approvalButtonData('run', QUESTION)): Message {
  return {
    ...chatMessage(chatId, n, data),
    message_id: `telegram:${chatId}:cb:${n}`,
    content: { text: data, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: data }] },
  };
}

/** Queues a press as the webhook does: the flag comes from the plaintext, read there. */
async function enqueuePress(stub: RelayStub, m: Message) {
  const sealed = await seal(JSON.stringify(m), coreKeys());
  return (await stub.enqueue({ message_id: m.message_id, conversation_id: m.conversation.id, sealed }, { press: true })).outcome;
}

const delivered = (frames: { type: string; message_id?: string }[]) => frames.filter((f) => f.type === 'deliver').map((f) => f.message_id);

describe('an approval press while its conversation’s turn is in flight', () => {
  it('reaches the core holding the turn at once, outside a full window; the messages keep their order', async () => {
    const { name, stub } = freshRelay('press');
    await enqueue(stub, chatMessage(71, 1, 'wipe my notes'));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    expect((await tunnel.next('deliver')).message_id).toBe('telegram:71:1');
    // An ordinary message behind the turn, then the owner's press.
    await enqueue(stub, chatMessage(71, 2, 'and then?'));
    expect(await enqueuePress(stub, pressMessage(71, 3))).toBe('stored');

    const press = await tunnel.next('deliver');
    expect(press).toMatchObject({ message_id: 'telegram:71:cb:3', conversation_id: 'telegram:71', press: true, attempt: 1 });
    expect(MessageSchema.parse(JSON.parse(await unseal(press.sealed, coreKeys()))).content.text).toBe(approvalButtonData('run', QUESTION));
    // The message behind the turn still waits for it, press acked or not.
    await tunnel.ack('telegram:71:cb:3');
    expect(delivered(await tunnel.barrier())).toEqual([]);

    tunnel.send({ type: 'ack', message_id: 'telegram:71:1', reply: { key: 'reply:telegram:71:1', text: '{"wiped":"notes.txt"}' } });
    const next = await tunnel.next('deliver');
    expect(next.message_id).toBe('telegram:71:2');
    expect(next.press).toBeUndefined();
    tunnel.close();
  });

  it('goes to the session holding the turn, not to the core with the most credits', async () => {
    const { name, stub } = freshRelay('press');
    await enqueue(stub, chatMessage(72, 1));
    const holder = await TestTunnel.toRelay(name, 'core-a');
    await holder.hello(1, 'core-a');
    await holder.next('deliver');
    const idle = await TestTunnel.toRelay(name, 'core-b');
    await idle.hello(8, 'core-b');
    await enqueuePress(stub, pressMessage(72, 2));
    expect((await holder.next('deliver')).message_id).toBe('telegram:72:cb:2');
    expect(delivered(await idle.barrier())).toEqual([]);
    holder.close();
    idle.close();
  });

  it('takes no credit: the window still takes a new conversation beside an unacked press', async () => {
    const { name, stub } = freshRelay('press');
    await enqueue(stub, chatMessage(73, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(2);
    await tunnel.next('deliver');
    await enqueuePress(stub, pressMessage(73, 2));
    expect((await tunnel.next('deliver')).press).toBe(true);
    await enqueue(stub, chatMessage(74, 1));
    expect((await tunnel.next('deliver')).message_id).toBe('telegram:74:1');
    tunnel.close();
  });

  it('keeps presses of one conversation in order, one in flight, and redelivers one whose tunnel closed', async () => {
    const { name, stub } = freshRelay('press');
    await enqueue(stub, chatMessage(75, 1));
    const first = await TestTunnel.toRelay(name);
    await first.hello(1);
    await first.next('deliver');
    await enqueuePress(stub, pressMessage(75, 2));
    await enqueuePress(stub, pressMessage(75, 3, approvalButtonData('skip', QUESTION)));
    expect((await first.next('deliver')).message_id).toBe('telegram:75:cb:2');
    expect(delivered(await first.barrier())).toEqual([]);
    first.close();
    await first.waitClosed();

    const second = await TestTunnel.toRelay(name);
    await second.hello(1);
    const frames = [await second.next('deliver'), await second.next('deliver')];
    expect(frames.map((f) => [f.message_id, f.press ?? false, f.attempt])).toEqual(
      expect.arrayContaining([
        ['telegram:75:1', false, 2],
        ['telegram:75:cb:2', true, 2],
      ]),
    );
    second.close();
  });

  it('is delivered when the turn is over too (a late press): the core says it expired', async () => {
    const { name, stub } = freshRelay('press');
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await enqueuePress(stub, pressMessage(76, 1));
    expect(await tunnel.next('deliver')).toMatchObject({ message_id: 'telegram:76:cb:1', press: true });
    tunnel.close();
  });
});

describe('through the Telegram webhook', () => {
  let updateId = 9_000_000 + Math.floor(Math.random() * 1e6);
  const callback = (chatId: number, data: string) => ({
    update_id: ++updateId,
    callback_query: {
      id: `cb-${updateId}`,
      from: { id: chatId, is_bot: false, first_name: 'Ada' },
      message: { message_id: 5, date: 1_764_000_000, chat: { id: chatId, type: 'private', first_name: 'Ada' } },
      data,
    },
  });

  it('recognizes an approval button by its data and delivers it beside the turn; any other button waits its turn', async () => {
    await postWebhook(textUpdate(77, 'wipe my notes'));
    const tunnel = await TestTunnel.viaRoute('core-press');
    await tunnel.hello(1, 'core-press');
    const turn = await tunnel.next('deliver');
    expect(turn.conversation_id).toBe('telegram:77');

    expect((await postWebhook(callback(77, 'fb:u:abc'))).status).toBe(200);
    expect((await postWebhook(callback(77, approvalButtonData('skip', QUESTION)))).status).toBe(200);
    const press = await tunnel.next('deliver');
    expect(press).toMatchObject({ conversation_id: 'telegram:77', press: true });
    expect(MessageSchema.parse(JSON.parse(await unseal(press.sealed, coreKeys()))).content.text).toBe(approvalButtonData('skip', QUESTION));
    expect(delivered(await tunnel.barrier())).toEqual([]);

    // A look-alike of the wrong shape is an ordinary button: in order, after the turn.
    expect((await postWebhook(callback(77, 'ap:r:short'))).status).toBe(200);
    await tunnel.ack(press.message_id);
    expect(delivered(await tunnel.barrier())).toEqual([]);
    tunnel.send({ type: 'ack', message_id: turn.message_id });
    const feedback = await tunnel.next('deliver');
    expect(feedback.press).toBeUndefined();
    expect(MessageSchema.parse(JSON.parse(await unseal(feedback.sealed, coreKeys()))).content.text).toBe('fb:u:abc');
    tunnel.send({ type: 'ack', message_id: feedback.message_id });
    const lookAlike = await tunnel.next('deliver');
    expect(lookAlike.press).toBeUndefined();
    await tunnel.ack(lookAlike.message_id);
    tunnel.close();
  });
});

describe('through the WhatsApp webhook', () => {
  it('delivers a pressed reply button carrying approval data beside the turn', async () => {
    const from = '16505557701';
    expect((await postWhatsApp(textWebhook([{ from, id: 'wamid.approval-turn-7701', body: 'wipe my notes' }]))).status).toBe(200);
    const tunnel = await TestTunnel.viaRoute('core-press-wa');
    await tunnel.hello(1, 'core-press-wa');
    // The webhook's Relay is shared with the other tests: what they left is acked out of the way.
    for (let frame = await tunnel.next('deliver'); frame.conversation_id !== `whatsapp:${from}`; frame = await tunnel.next('deliver')) {
      tunnel.send({ type: 'ack', message_id: frame.message_id });
    }

    const data = approvalButtonData('run', QUESTION);
    const body = structuredClone(buttonReply);
    const value = body.entry[0]!.changes[0]!.value;
    value.metadata.phone_number_id = inject('whatsappPhoneNumberId');
    value.contacts[0]!.wa_id = from;
    Object.assign(value.messages[0]!, { from, id: 'wamid.approval-press-7701', interactive: { type: 'button_reply', button_reply: { id: data, title: 'Run' } } });
    expect((await postWhatsApp(body)).status).toBe(200);
    const press = await tunnel.next('deliver');
    expect(press).toMatchObject({ conversation_id: `whatsapp:${from}`, press: true });
    expect(MessageSchema.parse(JSON.parse(await unseal(press.sealed, coreKeys()))).content.entities).toEqual([{ type: 'button', offset: 0, length: 0, value: data }]);
    tunnel.close();
  });
});
