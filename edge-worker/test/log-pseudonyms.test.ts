import { seal, type Message } from '@hearth/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deliverEmail, EML, eml, freshMessageId } from './email-helpers.js';
import { TestTunnel, coreKeys, freshRelay, waitFor } from './helpers.js';
import { postWhatsApp, textWebhook, whatsappCalls } from './whatsapp-helpers.js';

/** Every console line of this isolate (the worker and the Relay run in it) from now on. */
function captureLogs(): () => string[] {
  const lines: string[] = [];
  for (const level of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' ')));
  }
  return () => lines;
}

afterEach(() => vi.restoreAllMocks());

describe('logs at the edge', () => {
  it('carry a keyed pseudonym for WhatsApp ids, never the phone number, from the webhook to the sent reply', async () => {
    const waId = '16505557001';
    const wamid = `wamid.HBgLMTY1MDU1NTcwMDEV-${crypto.randomUUID()}`;
    const lines = captureLogs();

    const response = await postWhatsApp(textWebhook([{ from: waId, id: wamid, body: 'hello' }]));
    expect(response.status).toBe(200);

    // A reply through a Relay: its send is logged with the conversation (the number).
    const { name, stub } = freshRelay('pseudonyms');
    const message: Message = {
      message_id: `whatsapp:${wamid}-2`,
      platform: 'whatsapp',
      conversation: { id: `whatsapp:${waId}`, type: 'private' },
      sender: { id: `whatsapp:${waId}` },
      content: { text: 'question', attachments: [], entities: [] },
      reply_to: null,
      timestamp: 1764000000,
    };
    await stub.enqueue({ message_id: message.message_id, conversation_id: message.conversation.id, sealed: await seal(JSON.stringify(message), coreKeys()) });
    const tunnel = await TestTunnel.toRelay(name);
    await tunnel.hello(1);
    await tunnel.next('deliver');
    tunnel.send({ type: 'ack', message_id: message.message_id, reply: { key: `reply:${message.message_id}`, text: 'answer' } });
    await waitFor(async () => ((await whatsappCalls()).some((c) => c.body.to === waId && c.body.type === 'text') ? true : undefined), 'the reply sent');
    const sent = await waitFor(async () => lines().find((l) => l.includes('"event":"reply_sent"') && l.includes('whatsapp:~')), 'the reply_sent line');
    tunnel.close();

    const all = lines().join('\n');
    expect(all).toContain('whatsapp:~');
    expect(all).not.toContain(waId);
    expect(all).not.toContain('HBgLMTY1MDU1NTcwMDEV');
    // Stable: the webhook's line and the Relay's name the sender with the same pseudonym.
    const pseudonym = /"conversation_id":"(whatsapp:~[a-z2-7]{12})"/.exec(sent)?.[1];
    expect(pseudonym).toBeDefined();
    const webhookLine = lines().find((l) => /"event":"(webhook_accepted|sender_denied|sender_not_paired)"/.test(l));
    expect(webhookLine).toContain(pseudonym);
  });

  it('carry a keyed pseudonym for e-mail senders, never the address, accepted or refused', async () => {
    const address = 'pseudonym.test@example.com';
    const lines = captureLogs();
    await deliverEmail(eml(EML.plain, { 'Message-ID': freshMessageId('pseudonym'), From: `Ada <${address}>` }));
    const { rejected } = await deliverEmail(eml(EML.unauthenticated, { 'Message-ID': freshMessageId('pseudonym'), From: `Ada <${address}>` }));
    expect(rejected).toBeDefined();
    const accepted = await waitFor(async () => lines().find((l) => l.includes('"event":"webhook_accepted"') && l.includes('email:~')), 'the accepted line');
    const refused = lines().find((l) => l.includes('"event":"email_rejected"'));
    const pseudonym = /"sender":"(email:~[a-z2-7]{12})"/.exec(accepted)?.[1];
    expect(pseudonym).toBeDefined();
    expect(refused).toContain(pseudonym);
    expect(lines().join('\n')).not.toContain(address);
  });
});
