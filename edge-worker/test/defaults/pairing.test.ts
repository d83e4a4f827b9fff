import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { relayFor } from '../../src/relay/stub.js';
import { postWebhook, telegramCalls, textUpdate, waitFor } from '../helpers.js';
import { accessCommand, ownerTunnel, pairingNotices, waitForPairingNotice, whereIs } from './access-helpers.js';

// The default policy (pairing) on Telegram; HEARTH_ALLOWLIST has telegram:7001 (vitest.config.ts).
describe('pairing (the default policy)', () => {
  it('answers an unknown sender only with a code, queues nothing, and answers their message once the owner approves', async () => {
    const chat = 7101;
    const update = textUpdate(chat, 'hello, who are you?');
    const messageId = `telegram:${chat}:${update.message.message_id}`;
    const response = await postWebhook(update);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 1, ignored: 0 });

    const notice = await waitForPairingNotice(chat);
    expect(notice.text).toMatch(/This assistant is private/);
    expect(notice.text).toMatch(/expires in 10 minutes/);
    expect(await whereIs(messageId)).toBe('held');

    const owner = await ownerTunnel(1);
    const result = await accessCommand(owner, { action: 'approve', code: notice.code.toLowerCase() });
    expect(result).toMatchObject({ ok: true, approved: { sender: `telegram:${chat}`, name: 'Ada Lovelace', released: true } });

    // The held message is now an ordinary delivery; the core's answer reaches the chat.
    const delivery = await owner.next('deliver');
    expect(delivery.message_id).toBe(messageId);
    owner.send({ type: 'ack', message_id: messageId, reply: { key: `reply:${messageId}`, text: 'I am your assistant.' } });
    await waitFor(
      async () => (await telegramCalls()).find((c) => c.body.chat_id === String(chat) && c.body.text === 'I am your assistant.'),
      'the answer in the chat',
    );

    // Approved: the next message goes straight to the queue.
    const next = textUpdate(chat, 'and again');
    expect(await (await postWebhook(next)).json()).toMatchObject({ stored: 1, withheld: 0 });
    expect(await whereIs(`telegram:${chat}:${next.message.message_id}`)).toBe('queued');
    expect(await pairingNotices(chat)).toHaveLength(1);
    owner.close();
  });

  it('gives a sender one code: repeats and platform retries get no second notice', async () => {
    const chat = 7102;
    const first = textUpdate(chat, 'hi');
    await postWebhook(first);
    await waitForPairingNotice(chat);
    const retried = await postWebhook(first);
    const another = await postWebhook(textUpdate(chat, 'hello?'));
    expect(await retried.json()).toMatchObject({ stored: 0, withheld: 1 });
    expect(await another.json()).toMatchObject({ stored: 0, withheld: 1 });
    const owner = await ownerTunnel();
    const listed = await accessCommand(owner, { action: 'list' });
    expect(listed.pending?.filter((p) => p.sender === `telegram:${chat}`)).toHaveLength(1);
    expect(await pairingNotices(chat)).toHaveLength(1);
    owner.close();
  });

  it('refuses a wrong or used code, and lets a revoked sender in only by pairing again', async () => {
    const chat = 7103;
    const owner = await ownerTunnel();
    const wrong = await accessCommand(owner, { action: 'approve', code: 'ZZZZ-ZZZZ' });
    expect(wrong).toMatchObject({ ok: false, error: expect.stringContaining('no pending pairing code ZZZZ-ZZZZ') });

    await postWebhook(textUpdate(chat, 'first'));
    const { code } = await waitForPairingNotice(chat);
    expect(await accessCommand(owner, { action: 'approve', code })).toMatchObject({ ok: true });
    expect(await accessCommand(owner, { action: 'approve', code })).toMatchObject({ ok: false });
    const listed = await accessCommand(owner, { action: 'list' });
    expect(listed.senders).toContainEqual({ sender: `telegram:${chat}`, name: 'Ada Lovelace', approved_at: expect.any(Number) });

    expect(await accessCommand(owner, { action: 'revoke', sender: `telegram:${chat}` })).toMatchObject({ ok: true, revoked: true });
    const after = textUpdate(chat, 'still there?');
    expect(await (await postWebhook(after)).json()).toMatchObject({ stored: 0, withheld: 1 });
    expect(await whereIs(`telegram:${chat}:${after.message.message_id}`)).toBe('held');
    await waitFor(async () => ((await pairingNotices(chat)).length === 2 ? true : undefined), 'a second code after revoking');
    owner.close();
  });

  it('lets allowlisted senders in without pairing', async () => {
    const update = textUpdate(7001, 'I am on the list');
    expect(await (await postWebhook(update)).json()).toMatchObject({ stored: 1, withheld: 0 });
    expect(await whereIs(`telegram:7001:${update.message.message_id}`)).toBe('queued');
    expect(await pairingNotices(7001)).toEqual([]);
  });

  it('forgets an expired code and the message it held', async () => {
    const chat = 7104;
    const update = textUpdate(chat, 'anyone?');
    await postWebhook(update);
    const { code } = await waitForPairingNotice(chat);
    // The Relay's sweep as the alarm would run it, eleven minutes on (codes live ten).
    await relayFor(env).sweep(Date.now() + 11 * 60_000);
    expect(await whereIs(`telegram:${chat}:${update.message.message_id}`)).toBe('nowhere');
    const owner = await ownerTunnel();
    expect(await accessCommand(owner, { action: 'approve', code })).toMatchObject({ ok: false, error: expect.stringContaining('expired') });
    owner.close();
  });

  it('rejects an access command that is not one, without closing the tunnel', async () => {
    const owner = await ownerTunnel();
    owner.ws.send(JSON.stringify({ v: 1, type: 'access', request_id: 'x', command: { action: 'approve-all' } }));
    expect(await owner.next('error')).toMatchObject({ code: 'bad_frame', fatal: false });
    expect(await accessCommand(owner, { action: 'list' })).toMatchObject({ ok: true });
    owner.close();
  });

  it('is not reachable without the core key: the tunnel refuses a token signed by another key', async () => {
    const response = await SELF.fetch('https://edge.test/tunnel', { headers: { Upgrade: 'websocket', Authorization: 'Bearer not-a-jwt' } });
    expect(response.status).toBe(401);
  });
});
