import { MessageSchema, feedbackButtonData, feedbackOf, unseal } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { apiFetch, clientToken, freshUser } from './api-helpers.js';
import { TestTunnel, chatMessage, coreKeys, enqueue, freshRelay, storedRows, waitFor } from './helpers.js';
import { postWhatsApp, textWebhook, whatsappCalls } from './whatsapp-helpers.js';

const rate = (token: string, body: unknown, headers: Record<string, string> = {}) =>
  apiFetch('/v1/feedback', token, { method: 'POST', body: JSON.stringify(body), headers });

let tunnels: TestTunnel[] = [];
afterEach(() => {
  for (const tunnel of tunnels) tunnel.close();
  tunnels = [];
});

async function core() {
  const coreId = `core-${crypto.randomUUID().slice(0, 8)}`;
  const tunnel = await TestTunnel.viaRoute(coreId);
  tunnel.send({ type: 'hello', core_id: coreId, credits: 4 });
  await tunnel.next('welcome');
  tunnels.push(tunnel);
  return tunnel;
}

describe('POST /v1/feedback', () => {
  it('queues the rating, sealed, as a feedback press in the rated reply’s conversation; a retry is stored once', async () => {
    const user = freshUser('rater');
    const { token } = await clientToken(user, ['chat:write']);
    const tunnel = await core();
    const replyId = `reply:api:${user}:c-1:m-1`;

    const response = await rate(token, { message_id: replyId, rating: 'down', client_id: 'f-1' });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string };
    expect(accepted).toEqual({ id: `api:${user}:c-1:feedback.f-1`, message_id: replyId, rating: 'down', duplicate: false });

    const delivery = await tunnel.next('deliver');
    expect(delivery).toMatchObject({ message_id: accepted.id, conversation_id: `api:${user}:c-1` });
    const message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));
    expect(feedbackOf(message)).toEqual({ rating: 'down', ref: replyId });
    expect(message).toMatchObject({ platform: 'api', sender: { id: `api:${user}` }, reply_to: replyId });
    // The core acks a rating with no reply.
    tunnel.send({ type: 'ack', message_id: accepted.id });

    const again = await rate(token, { message_id: replyId, rating: 'down' }, { 'Idempotency-Key': 'f-1' });
    expect(await again.json()).toMatchObject({ id: accepted.id, duplicate: true });
  });

  it('refuses another user’s reply (404), a token without chat:write (403) and a bad body (400)', async () => {
    const user = freshUser('rater');
    const { token } = await clientToken(user, ['chat:write']);
    const other = await rate(token, { message_id: 'reply:api:someone-else:c-1:m-1', rating: 'up' });
    expect(other.status).toBe(404);
    expect(await other.json()).toMatchObject({ error: { code: 'not_found' } });

    const { token: reader } = await clientToken(user, ['chat:read']);
    expect((await rate(reader, { message_id: `reply:api:${user}:c-1:m-1`, rating: 'up' })).status).toBe(403);

    for (const body of [{ message_id: `reply:api:${user}:c-1:m-1`, rating: 'meh' }, { message_id: 'reply:telegram:1:2', rating: 'up' }, { rating: 'up' }]) {
      const bad = await rate(token, body);
      expect(bad.status).toBe(400);
    }
  });
});

describe('👍/👎 on WhatsApp', () => {
  it('go out as reply buttons whose ids are the feedback data, and a press comes back as the same feedback', async () => {
    // What the core puts under a model reply (learning/feedback.ts): the reply's 16-character short id.
    const up = feedbackButtonData('up', 'Ab3_-x9QzR0pLk2w');
    const down = feedbackButtonData('down', 'Ab3_-x9QzR0pLk2w');
    const { name, stub } = freshRelay('feedback');
    const asked = { ...chatMessage(0, 1), message_id: 'whatsapp:wamid.asked-fb-1', platform: 'whatsapp' as const, conversation: { id: 'whatsapp:16505558277', type: 'private' as const } };
    await enqueue(stub, asked);
    const tunnel = await TestTunnel.toRelay(name);
    tunnels.push(tunnel);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: asked.message_id, reply: { key: `reply:${asked.message_id}`, text: 'Once upon a time', buttons: [[{ label: '👍', data: up }, { label: '👎', data: down }]] } });
    const call = await waitFor(async () => (await whatsappCalls()).find((c) => c.body.to === '16505558277'), 'the interactive reply');
    expect(call.body).toMatchObject({
      type: 'interactive',
      interactive: { type: 'button', action: { buttons: [{ reply: { id: up, title: '👍' } }, { reply: { id: down, title: '👎' } }] } },
    });

    // The press, as Meta posts it: an interactive button_reply with the button's id.
    const webhook = textWebhook([{ from: '16505558277', id: 'wamid.press-fb-1', body: '' }]);
    const value = webhook.entry[0]?.changes[0]?.value;
    if (!value) throw new Error('webhook shape');
    Object.assign(value, {
      messages: [{ from: '16505558277', id: 'wamid.press-fb-1', timestamp: '1764000200', type: 'interactive', context: { from: '15550783881', id: 'wamid.reply-fb-1' }, interactive: { type: 'button_reply', button_reply: { id: up, title: '👍' } } }],
    });
    expect((await postWhatsApp(webhook)).status).toBe(200);
    const [row] = await storedRows('whatsapp:wamid.press-fb-1');
    if (!row) throw new Error('the press was not queued');
    const press = MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
    expect(feedbackOf(press)).toEqual({ rating: 'up', ref: 'Ab3_-x9QzR0pLk2w' });
    expect(press).toMatchObject({ conversation: { id: 'whatsapp:16505558277' }, sender: { id: 'whatsapp:16505558277' } });
  });
});
