import type { CoreFrameBody, ReplyButtons } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { TestTunnel, chatMessage, enqueue, freshRelay, replyStored, telegramCalls, waitFor } from './helpers.js';
import { failWhatsApp, whatsappCalls } from './whatsapp-helpers.js';

const feedback: ReplyButtons = [[{ label: '👍', data: 'fb:up' }, { label: '👎', data: 'fb:down' }]];

/** Opens a tunnel to a fresh Relay and has it push `frame` (a reply that answers no delivery). */
async function push(frame: Extract<CoreFrameBody, { type: 'reply' }>): Promise<void> {
  const { name, stub } = freshRelay('outbound');
  const tunnel = await TestTunnel.toRelay(name);
  await tunnel.hello(0);
  tunnel.send(frame);
  await replyStored(stub, frame.key);
  tunnel.close();
}

const sendsTo = (chatId: number, count: number) =>
  waitFor(async () => {
    const calls = (await telegramCalls()).filter((c) => c.method === 'sendMessage' && c.body.chat_id === String(chatId));
    return calls.length >= count ? calls : undefined;
  }, `${count} sends to chat ${chatId}`);

describe('buttons under a reply', () => {
  it('go to Telegram as an inline keyboard whose presses come back as the button data', async () => {
    const { name, stub } = freshRelay('outbound');
    await enqueue(stub, chatMessage(8101, 1));
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: 'telegram:8101:1', reply: { key: 'reply:telegram:8101:1', text: 'Was this useful?', buttons: feedback } });
    const [call] = await sendsTo(8101, 1);
    expect(call?.body).toMatchObject({
      text: 'Was this useful?',
      reply_parameters: { message_id: 1 },
      reply_markup: { inline_keyboard: [[{ text: '👍', callback_data: 'fb:up' }, { text: '👎', callback_data: 'fb:down' }]] },
    });
    tunnel.close();
  });

  it('ride on the last part of a long Telegram reply only', async () => {
    const text = `${'a'.repeat(4000)}\n\n${'b'.repeat(100)}`;
    await push({ type: 'reply', key: 'push:8102', conversation_id: 'telegram:8102', in_reply_to: null, text, buttons: feedback });
    const calls = await sendsTo(8102, 2);
    expect(calls.map((c) => c.body.reply_markup === undefined)).toEqual([true, false]);
  });

  it('go to WhatsApp as reply buttons when they fit (3, titles up to 20), quoting the message answered', async () => {
    await push({
      type: 'reply',
      key: 'push:wa-buttons',
      conversation_id: 'whatsapp:16505558101',
      in_reply_to: 'whatsapp:wamid.asked-8101',
      text: 'Pick one',
      buttons: [[{ label: 'Yes', data: 'y' }, { label: 'No', data: 'n' }], [{ label: 'Later', data: 'l' }]],
    });
    const call = await waitFor(async () => (await whatsappCalls()).find((c) => c.body.to === '16505558101'), 'the interactive message');
    expect(call.body).toMatchObject({
      type: 'interactive',
      context: { message_id: 'wamid.asked-8101' },
      interactive: {
        type: 'button',
        body: { text: 'Pick one' },
        action: {
          buttons: [
            { type: 'reply', reply: { id: 'y', title: 'Yes' } },
            { type: 'reply', reply: { id: 'n', title: 'No' } },
            { type: 'reply', reply: { id: 'l', title: 'Later' } },
          ],
        },
      },
    });
  });

  it('go to WhatsApp as a list when there are more than three, and after a text part when the reply is long', async () => {
    const choices = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday'].map((day) => ({ label: day, data: day.toLowerCase() }));
    const text = `${'Some context. '.repeat(100)}\n\nWhich day suits you best for the long meeting we discussed?`;
    await push({ type: 'reply', key: 'push:wa-list', conversation_id: 'whatsapp:16505558102', in_reply_to: null, text, buttons: [choices] });
    const calls = await waitFor(async () => {
      const sent = (await whatsappCalls()).filter((c) => c.body.to === '16505558102');
      return sent.length >= 2 ? sent : undefined;
    }, 'a text part, then the list');
    // 1,400+ characters: more than an interactive body holds, so the text goes first on its own.
    expect(calls.map((c) => c.body.type)).toEqual(['text', 'interactive']);
    const interactive = calls[1]?.body.interactive as { type: string; body: { text: string }; action: { sections: { rows: { id: string }[] }[] } };
    expect(interactive.type).toBe('list');
    expect(interactive.body.text.length).toBeLessThanOrEqual(1024);
    expect(interactive.action.sections[0]?.rows.map((r) => r.id)).toEqual(['monday', 'tuesday', 'wednesday', 'thursday', 'friday']);
  });

  it('are refused at the tunnel when a platform could not carry them (data over 64 bytes)', async () => {
    const { name } = freshRelay('outbound');
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(0);
    tunnel.send({ type: 'reply', key: 'push:too-long', conversation_id: 'telegram:8103', in_reply_to: null, text: 'x', buttons: [[{ label: 'b', data: 'd'.repeat(65) }]] });
    expect(await tunnel.next('error')).toMatchObject({ code: 'bad_frame', fatal: false });
    tunnel.close();
  });
});

describe('a long reply', () => {
  it('resumes after the last part delivered when a later part fails: no part is sent twice', async () => {
    const waId = '16505558201';
    await failWhatsApp({ to: waId, skip: 1, status: 503, code: 131016, message: 'Service unavailable' });
    const text = `${'a'.repeat(3000)}\n\n${'b'.repeat(3000)}\n\n${'c'.repeat(3000)}`;
    await push({ type: 'reply', key: 'push:resume', conversation_id: `whatsapp:${waId}`, in_reply_to: null, text });
    const calls = await waitFor(async () => {
      const sent = (await whatsappCalls()).filter((c) => c.body.to === waId);
      return sent.length >= 4 ? sent : undefined;
    }, 'all parts, one of them retried', 15_000);
    // Part 2 failed once (503) and was retried after backoff; part 1 went once, part 3 after.
    expect(calls.map((c) => (c.body.text as { body: string }).body[0])).toEqual(['a', 'b', 'b', 'c']);
  });
});
