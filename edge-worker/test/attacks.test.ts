import { CORE_AUDIENCE, MessageSchema, generateCoreKeySet, keyFor, signTunnelToken, unseal } from '@hearth/shared';
import { SELF } from 'cloudflare:test';
import { SignJWT } from 'jose';
import { describe, expect, inject, it } from 'vitest';
import { TestTunnel, chatMessage, coreKeys, enqueue, freshRelay, postWebhook, storedRows, telegramCalls, textUpdate, waitFor } from './helpers.js';
import { postWhatsApp, textWebhook } from './whatsapp-helpers.js';

/**
 * The attacks the other suites do not already cover (see docs/security.md for the
 * whole matrix and where each one is tested): replayed webhooks, cores trying to take over the
 * tunnel or conversations, tunnel tokens replayed (after their lifetime, and within it), path
 * traversal in attachment names, and hostile headers.
 */

/** A tunnel token as the core would sign it, with the claims a replay would carry. */
async function tunnelTokenWith(claims: { iat: number; exp: number; sub?: string }) {
  const jwk = keyFor(coreKeys(), 'sig');
  const key = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] } as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const { iat, exp } = claims;
  return new SignJWT({ sub: claims.sub ?? 'core-a', aud: CORE_AUDIENCE.tunnel, jti: crypto.randomUUID(), iat, exp }).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' }).sign(key);
}

const upgrade = (headers: Record<string, string>) => SELF.fetch('https://edge.test/tunnel', { headers: { Upgrade: 'websocket', ...headers } });
const now = () => Math.floor(Date.now() / 1000);

describe('replayed webhooks', () => {
  it('a Telegram update posted again later (by Telegram or by someone who captured it) is stored once and answered once', async () => {
    const tunnel = await TestTunnel.viaRoute('replay-core');
    await tunnel.hello(4, 'replay-core');
    const update = textUpdate(7301, 'pay me once');
    const id = `telegram:7301:${update.message.message_id}`;
    expect(await (await postWebhook(update)).json()).toMatchObject({ stored: 1, duplicates: 0 });
    const delivery = await tunnel.next('deliver');
    expect(delivery.message_id).toBe(id);
    tunnel.send({ type: 'ack', message_id: id, reply: { key: `reply:${id}`, text: 'paid' } });
    await waitFor(async () => ((await telegramCalls()).some((c) => c.method === 'sendMessage' && c.body.chat_id === '7301') ? true : undefined), 'the reply');
    // The replay, after the message was answered: recognised, not queued, not delivered, not answered again.
    for (let i = 0; i < 3; i++) expect(await (await postWebhook(update)).json()).toMatchObject({ stored: 0, duplicates: 1 });
    expect(await storedRows(id)).toHaveLength(1);
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toEqual([]);
    expect((await telegramCalls()).filter((c) => c.method === 'sendMessage' && c.body.chat_id === '7301')).toHaveLength(1);
    tunnel.close();
  });

  it('a signed WhatsApp body replayed is stored once (the signature is valid forever: the wamid is what dedupes)', async () => {
    const body = textWebhook([{ from: '15550007302', id: 'wamid.replayed-7302', body: 'once' }]);
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await (await postWhatsApp(body)).json());
    expect(answers).toEqual([
      expect.objectContaining({ stored: 1, duplicates: 0 }),
      expect.objectContaining({ stored: 0, duplicates: 1 }),
      expect.objectContaining({ stored: 0, duplicates: 1 }),
    ]);
    expect(await storedRows('whatsapp:wamid.replayed-7302')).toHaveLength(1);
  });
});

describe('taking over the tunnel', () => {
  it('a second "core" without the key is refused, and the real core keeps getting its messages', async () => {
    const real = await TestTunnel.viaRoute('owner-core');
    await real.hello(2, 'owner-core');
    const impostorKeys = await generateCoreKeySet();
    for (const token of [await signTunnelToken(impostorKeys, 'owner-core'), await signTunnelToken(impostorKeys, 'impostor')]) {
      const response = await upgrade({ Authorization: `Bearer ${token}` });
      expect(response.status).toBe(401);
      expect(response.webSocket).toBeNull();
    }
    const update = textUpdate(7311, 'still mine');
    expect((await postWebhook(update)).status).toBe(200);
    // What an earlier test left unacked in this file's Relay may come first.
    const wanted = `telegram:7311:${update.message.message_id}`;
    for (;;) {
      const delivery = await real.next('deliver');
      real.send({ type: 'ack', message_id: delivery.message_id });
      if (delivery.message_id === wanted) break;
    }
    real.close();
  });

  it('a core with the key but another core id gets new conversations, never one another core is answering', async () => {
    // The key is the owner's: any holder is the owner's core. The Relay spreads conversations
    // between cores (affinity while a core is up), so a second core takes a share of new work.
    const { name, stub } = freshRelay('takeover');
    const first = await TestTunnel.toRelay(name, 'core-a');
    await first.hello(4, 'core-a');
    await enqueue(stub, chatMessage(7321, 1));
    const d1 = await first.next('deliver');
    await first.ack(d1.message_id);

    const second = await TestTunnel.toRelay(name, 'core-b');
    await second.hello(4, 'core-b');
    await enqueue(stub, chatMessage(7321, 2));
    for (let chat = 7322; chat < 7326; chat++) await enqueue(stub, chatMessage(chat, 1));
    const toFirst = (await first.barrier()).filter((f) => f.type === 'deliver').map((f) => f.conversation_id);
    const toSecond = (await second.barrier()).filter((f) => f.type === 'deliver').map((f) => f.conversation_id);
    // The conversation core-a was answering stays with it; core-b gets only new ones.
    expect(toSecond).not.toContain('telegram:7321');
    expect(toSecond.length).toBeGreaterThan(0);
    expect([...toFirst, ...toSecond].sort()).toEqual(['telegram:7321', 'telegram:7322', 'telegram:7323', 'telegram:7324', 'telegram:7325']);
    first.close();
    second.close();
  });

  it('a hello naming another core than the token is refused (the token decides who a core is)', async () => {
    const tunnel = await TestTunnel.viaRoute('core-x');
    tunnel.send({ type: 'hello', core_id: 'core-y', credits: 1 });
    expect(await tunnel.next('error')).toMatchObject({ code: 'core_id_mismatch', fatal: true });
    await tunnel.waitClosed();
  });
});

describe('tunnel tokens replayed', () => {
  it('after their lifetime (60 s + 30 s of skew): 401', async () => {
    const token = await tunnelTokenWith({ iat: now() - 120, exp: now() - 60 + 30 - 31 });
    expect((await upgrade({ Authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('with an exp pushed far out but issued long ago: 401 (a token older than 5 minutes is refused whatever its exp)', async () => {
    const token = await tunnelTokenWith({ iat: now() - 400, exp: now() + 3_600 });
    expect((await upgrade({ Authorization: `Bearer ${token}` })).status).toBe(401);
  });

  it('within its lifetime: the first use opens a tunnel, a replay of the same token (its jti) gets 401', async () => {
    const token = await signTunnelToken(coreKeys(), 'core-replay');
    const first = await upgrade({ Authorization: `Bearer ${token}` });
    expect(first.status).toBe(101);
    first.webSocket?.accept();
    first.webSocket?.close(1000, 'done');
    const replay = await upgrade({ Authorization: `Bearer ${token}` });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toMatchObject({ error: { message: expect.stringContaining('already used') } });
  });
});

describe('path traversal in attachment names', () => {
  it('a Telegram document named ../../etc/passwd travels only as sealed metadata; the edge fetches nothing', async () => {
    const before = (await telegramCalls()).length;
    const update = {
      update_id: 7331,
      message: {
        message_id: 1,
        date: 1_764_000_000,
        chat: { id: 7331, type: 'private' },
        from: { id: 7331, is_bot: false, first_name: 'Eve' },
        caption: 'see attached',
        document: { file_id: 'BQACAgIAAxkBAAI', file_name: '../../etc/passwd', mime_type: 'text/plain', file_size: 12 },
      },
    };
    expect((await postWebhook(update)).status).toBe(200);
    const [row] = await storedRows('telegram:7331:1');
    expect(row!.sealed).not.toContain('passwd');
    const message = MessageSchema.parse(JSON.parse(await unseal(row!.sealed, coreKeys())));
    expect(message.content.attachments).toEqual([{ kind: 'document', file_id: 'BQACAgIAAxkBAAI', name: '../../etc/passwd', mime_type: 'text/plain', size: 12 }]);
    // No getFile, no download: the core alone decides what to do with a name.
    expect((await telegramCalls()).slice(before).filter((c) => c.method === 'getFile')).toEqual([]);
  });

  it('a WhatsApp document with a traversal filename likewise', async () => {
    const body = textWebhook([{ from: '15550007332', id: 'wamid.traversal', body: '' }]);
    const value = body.entry[0]!.changes[0]!.value as { messages: Record<string, unknown>[] };
    value.messages = [{ from: '15550007332', id: 'wamid.traversal', timestamp: '1764000100', type: 'document', document: { id: 'media-1', filename: '..\\..\\windows\\win.ini/../../etc/passwd', mime_type: 'text/plain' } }];
    expect((await postWhatsApp(body)).status).toBe(200);
    const [row] = await storedRows('whatsapp:wamid.traversal');
    expect(row!.sealed).not.toContain('passwd');
    const message = MessageSchema.parse(JSON.parse(await unseal(row!.sealed, coreKeys())));
    expect(message.content.attachments[0]).toMatchObject({ kind: 'document', name: '..\\..\\windows\\win.ini/../../etc/passwd' });
  });
});

describe('hostile headers', () => {
  const secret = inject('webhookSecret');

  it('the secret header twice (right and wrong) is one wrong value: 401', async () => {
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('X-Telegram-Bot-Api-Secret-Token', secret);
    headers.append('X-Telegram-Bot-Api-Secret-Token', 'wrong');
    const update = textUpdate(7341, 'twice');
    const response = await SELF.fetch('https://edge.test/webhooks/telegram', { method: 'POST', headers, body: JSON.stringify(update) });
    expect(response.status).toBe(401);
    expect(await storedRows(`telegram:7341:${update.message.message_id}`)).toEqual([]);
  });

  it('the right secret twice is not the secret either: 401', async () => {
    const headers = new Headers({ 'content-type': 'application/json' });
    headers.append('X-Telegram-Bot-Api-Secret-Token', secret);
    headers.append('X-Telegram-Bot-Api-Secret-Token', secret);
    expect((await SELF.fetch('https://edge.test/webhooks/telegram', { method: 'POST', headers, body: JSON.stringify(textUpdate(7342, 'x')) })).status).toBe(401);
  });

  it('two Authorization headers on the tunnel: 401', async () => {
    const headers = new Headers({ Upgrade: 'websocket' });
    headers.append('Authorization', `Bearer ${await signTunnelToken(coreKeys(), 'core-a')}`);
    headers.append('Authorization', 'Bearer x');
    expect((await SELF.fetch('https://edge.test/tunnel', { headers })).status).toBe(401);
  });

  it('oversized headers (a 60 KiB secret, token or Content-Length lie) are refused without a 5xx', async () => {
    const huge = 'a'.repeat(60 * 1024);
    const answers = [
      await postWebhook(textUpdate(7343, 'x'), huge),
      await upgrade({ Authorization: `Bearer ${huge}` }),
      await SELF.fetch('https://edge.test/v1/models', { headers: { Authorization: `Bearer ${huge}` } }),
      await SELF.fetch('https://edge.test/webhooks/telegram', {
        method: 'POST',
        headers: { 'X-Telegram-Bot-Api-Secret-Token': secret, 'Content-Length': '999999999' },
        body: JSON.stringify(textUpdate(7344, 'x')),
      }),
    ];
    for (const response of answers) expect(response.status).toBeLessThan(500);
    expect(answers.slice(0, 3).map((r) => r.status)).toEqual([401, 401, 401]);
  });
});
