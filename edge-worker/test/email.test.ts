import { unseal } from '@hearth/shared';
import { runInDurableObject, SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { relayFor } from '../src/relay/stub.js';
import { deliverEmail, EML, eml, failEmail, freshMessageId, headerOf, idsOf, sentEmails, storedEmail } from './email-helpers.js';
import { TestTunnel, coreKeys, storedRows, waitFor } from './helpers.js';

// Storage is per test file: every test sends mail with Message-IDs of its own.

const ADA = 'ada@example.com';

/** A fixture as a new mail (its own Message-ID), from `from` when given. */
function fresh(fixture: string, headers: Record<string, string | null> = {}) {
  const messageId = freshMessageId();
  return { messageId, raw: eml(fixture, { 'Message-ID': messageId, ...headers }) };
}

/** The rows of the Relay's tables that hold anything of a mail, as text: none may hold its address or subject. */
function rowsAtRest(): Promise<string> {
  return runInDurableObject(relayFor(env), (_relay, state) => {
    const sql = state.storage.sql;
    const tables = ['messages', 'outbox', 'reply_contexts', 'pairing_codes'];
    return tables.map((table) => JSON.stringify(sql.exec(`SELECT * FROM ${table}`).toArray())).join('\n');
  });
}

describe('email(): what is stored', () => {
  it.each([
    ['plain text', EML.plain, 'Bread recipe\n\nCould you give me a simple bread recipe?\n\nThanks,\nAda', []],
    ['multipart/alternative (the text part)', EML.alternative, 'Café opening hours\n\nWhen does the café open on Sundays?', []],
    ['HTML only (text from the HTML)', EML.htmlOnly, 'Newsletter draft\n\nPlease proofread this:\nFish & chips on Friday – all welcome', []],
    ['ISO-8859-1, quoted-printable', EML.latin1, 'Crème brûlée\n\nCombien de sucre pour une crème brûlée ?', []],
    [
      'attachments (by reference)',
      EML.attachment,
      'Receipt\n\nHere is the receipt from the bakery.',
      [
        { kind: 'document', mime_type: 'application/pdf', name: 'receipt.pdf', size: 57 },
        { kind: 'photo', mime_type: 'image/png', name: 'loaf.png', size: 70 },
      ],
    ],
  ])('stores %s sealed, as a message from email:<address>', async (_name, fixture, text, attachments) => {
    const { messageId, raw } = fresh(fixture);
    expect(await deliverEmail(raw)).toEqual({ rejected: undefined });
    const ids = await idsOf(ADA, messageId);
    const stored = await storedEmail(ids.messageId);
    expect(stored).toMatchObject({
      message_id: ids.messageId,
      platform: 'email',
      conversation: { id: ids.conversationId, type: 'private' },
      sender: { id: `email:${ADA}` },
      content: { text, attachments, entities: [] },
      reply_to: null,
    });
    // Sealed to the core: neither the text, the address nor the subject is readable in the row.
    const [row] = await storedRows(ids.messageId);
    expect(row!.message_id).toMatch(/^email:[0-9a-f]{32}$/);
    expect(row!.conversation_id).toMatch(/^email:[0-9a-f]{32}$/);
    const atRest = await rowsAtRest();
    expect(atRest).not.toContain(ADA);
    expect(atRest).not.toContain(text.split('\n')[0]);
  });

  it('stores a mail delivered again (Email Routing retries) once', async () => {
    const { messageId, raw } = fresh(EML.plain);
    await deliverEmail(raw);
    await deliverEmail(raw);
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toHaveLength(1);
  });

  it('keeps a reply in the conversation of its thread, without the quote of the earlier mail', async () => {
    const root = freshMessageId('root');
    await deliverEmail(eml(EML.plain, { 'Message-ID': root }));
    const { messageId, raw } = fresh(EML.reply, { References: `${root} <hearth.0123456789abcdef0123456789abcdef@assistant.test>` });
    await deliverEmail(raw);
    const first = await storedEmail((await idsOf(ADA, root)).messageId);
    const second = await storedEmail((await idsOf(ADA, messageId)).messageId);
    expect(second.conversation.id).toBe(first.conversation.id);
    expect(second.content.text).toBe('And without yeast?');
  });

  it('gives another sender writing into the same thread a conversation of their own', async () => {
    const root = freshMessageId('root');
    await deliverEmail(eml(EML.plain, { 'Message-ID': root }));
    const { messageId, raw } = fresh(EML.reply, { From: 'Grace <grace@example.com>', References: root });
    await deliverEmail(raw);
    const owner = await storedEmail((await idsOf(ADA, root)).messageId);
    const other = await storedEmail((await idsOf('grace@example.com', messageId, { references: root })).messageId);
    expect(other.conversation.id).not.toBe(owner.conversation.id);
  });

  it.each([
    ['an auto-reply (Auto-Submitted)', () => fresh(EML.autoReply), {}],
    ['Precedence: bulk', () => fresh(EML.plain, { Precedence: 'bulk' }), {}],
    ['mailing list mail', () => fresh(EML.plain, { 'List-Id': '<bakers.lists.example.com>' }), {}],
    ['mail from our own address', () => fresh(EML.plain, { From: `Hearth <${inject('emailAddress')}>` }), {}],
    ['a bounce (empty envelope sender)', () => fresh(EML.plain), { from: '' }],
    ['a bounce from the mailer daemon', () => fresh(EML.plain, { From: 'Mail Delivery System <MAILER-DAEMON@example.com>' }), {}],
  ])('accepts and drops %s: nothing stored, nothing answered', async (_name, mail, envelope) => {
    const { messageId, raw } = mail();
    expect(await deliverEmail(raw, envelope)).toEqual({ rejected: undefined });
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toEqual([]);
  });

  it('rejects mail whose sender Email Routing could not authenticate, whatever verdicts the sender wrote below', async () => {
    const { messageId, raw } = fresh(EML.unauthenticated);
    const { rejected } = await deliverEmail(raw);
    expect(rejected).toMatch(/^sender not authenticated/);
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toEqual([]);
  });

  it.each([
    ['DMARC fail', 'i=1; mx.cloudflare.net; dkim=pass header.d=example.com; dmarc=fail header.from=example.com'],
    ['DKIM of another domain only', 'i=1; mx.cloudflare.net; dkim=pass header.d=mailer.example.net; dmarc=none; spf=none'],
    ['SPF of another domain only', 'i=1; mx.cloudflare.net; dkim=none; spf=pass smtp.mailfrom=bounces@mailer.example.net'],
  ])('rejects mail with %s', async (_name, verdict) => {
    const { messageId, raw } = fresh(EML.plain, { 'ARC-Authentication-Results': verdict });
    expect((await deliverEmail(raw)).rejected).toMatch(/^sender not authenticated/);
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toEqual([]);
  });

  it('defers mail whose DMARC check could not finish (temperror): a throw, so the sending server retries', async () => {
    const { messageId, raw } = fresh(EML.plain, { 'ARC-Authentication-Results': 'i=1; mx.cloudflare.net; dkim=none; dmarc=temperror header.from=example.com' });
    await expect(deliverEmail(raw)).rejects.toThrow(/not authenticated yet: DMARC temperror/);
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toEqual([]);
  });

  it('takes mail of a domain without DMARC whose DKIM signature is aligned', async () => {
    const { messageId, raw } = fresh(EML.plain, { 'ARC-Authentication-Results': 'i=1; mx.cloudflare.net; dkim=pass header.d=example.com; dmarc=none; spf=none' });
    expect(await deliverEmail(raw)).toEqual({ rejected: undefined });
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toHaveLength(1);
  });

  it('rejects what is not MIME it can read and mail without a Message-ID, storing nothing', async () => {
    expect((await deliverEmail(eml(EML.plain, { 'Message-ID': null }))).rejected).toBe('no Message-ID');
  });

  it('throws when the Relay cannot store the mail (a temporary failure: the sending server retries), rejecting nothing', async () => {
    const overloaded = () => {
      throw Object.assign(new Error('Durable Object is overloaded. Requests queued for too long.'), { overloaded: true });
    };
    const namespace = { idFromName: () => ({}), get: () => ({ enqueue: async () => overloaded() }) };
    const bindings = { ...env, RELAY: namespace } as unknown as Env;
    const { messageId, raw } = fresh(EML.plain);
    await expect(deliverEmail(raw, { bindings })).rejects.toThrow(/queue is unavailable/);
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toEqual([]);
    // Delivered again once the Relay is back, it is stored.
    expect(await deliverEmail(raw)).toEqual({ rejected: undefined });
    expect(await storedRows((await idsOf(ADA, messageId)).messageId)).toHaveLength(1);
  });

  it('has no webhook: /webhooks/email answers 404', async () => {
    const response = await SELF.fetch('https://edge.test/webhooks/email', { method: 'POST', body: EML.plain });
    expect(response.status).toBe(404);
  });
});

/** Takes deliveries until `messageId`'s, acking the others (earlier tests' messages) without a reply. */
async function deliveryOf(tunnel: TestTunnel, messageId: string) {
  for (;;) {
    const frame = await tunnel.next('deliver');
    if (frame.message_id === messageId) return frame;
    tunnel.send({ type: 'ack', message_id: frame.message_id });
  }
}

/** Mail to `to` whose In-Reply-To is `messageId`, once there are at least `count`. */
async function repliesTo(messageId: string, count = 1, timeoutMs = 10_000) {
  return waitFor(async () => {
    const sent = (await sentEmails()).filter((s) => s.mail.inReplyTo === messageId);
    return sent.length >= count ? sent : undefined;
  }, `${count} repl${count === 1 ? 'y' : 'ies'} to ${messageId}`, timeoutMs);
}

describe('replies through the send_email binding', () => {
  it('answers in the thread, once: From the assistant, Re: subject, In-Reply-To, References, a new Message-ID, Auto-Submitted', async () => {
    const messageId = freshMessageId('ask');
    const references = '<CAF=earlier-0001@mail.example.com>';
    const raw = eml(EML.plain, { 'Message-ID': messageId, References: references, 'In-Reply-To': references });
    const ids = await idsOf(ADA, messageId, { references });
    const tunnel = await TestTunnel.viaRoute('email-core');
    await tunnel.hello(10, 'email-core');
    await deliverEmail(raw);
    const deliver = await deliveryOf(tunnel, ids.messageId);
    expect(JSON.parse(await unseal(deliver.sealed, coreKeys()))).toMatchObject({ sender: { id: `email:${ADA}` } });
    const ack = { type: 'ack' as const, message_id: ids.messageId, reply: { key: `reply:${ids.messageId}`, text: 'Flour, water, salt and yeast.\nBake it hot.' } };
    tunnel.send(ack);
    const [sent] = await repliesTo(messageId);
    expect(sent!.from).toBe(inject('emailAddress'));
    expect(sent!.to).toBe(ADA);
    const { mail } = sent!;
    expect(mail.from).toMatchObject({ address: inject('emailAddress') });
    expect(mail.to).toEqual([expect.objectContaining({ address: ADA })]);
    expect(mail.subject).toBe('Re: Bread recipe');
    expect(mail.inReplyTo).toBe(messageId);
    expect(mail.references?.split(/\s+/)).toEqual([references, messageId]);
    expect(mail.messageId).toMatch(/^<hearth\.[0-9a-f]{32}@assistant\.test>$/);
    expect(headerOf(mail, 'auto-submitted')).toBe('auto-replied');
    expect(mail.text?.trim()).toBe('Flour, water, salt and yeast.\r\nBake it hot.'.replace(/\r\n/g, '\n'));
    // Exactly once: the same ack again sends nothing more.
    tunnel.send(ack);
    await tunnel.barrier();
    expect(await repliesTo(messageId)).toHaveLength(1);
    // Sent, the reply's text is forgotten; the context stays sealed.
    const atRest = await rowsAtRest();
    expect(atRest).not.toContain(ADA);
    expect(atRest).not.toContain('Bread recipe');
    expect(atRest).not.toContain('Flour, water');
    tunnel.close();
  });

  it("keeps one Re: on a reply to a reply, and non-ASCII subjects intact", async () => {
    const messageId = freshMessageId('re');
    const ids = await idsOf(ADA, messageId);
    const tunnel = await TestTunnel.viaRoute('email-core-2');
    await tunnel.hello(10, 'email-core-2');
    await deliverEmail(eml(EML.plain, { 'Message-ID': messageId, Subject: '=?UTF-8?Q?RE:_Cr=C3=A8me_br=C3=BBl=C3=A9e_pour_No=C3=ABl_et_le_r=C3=A9veillon_du_31?=' }));
    await deliveryOf(tunnel, ids.messageId);
    tunnel.send({ type: 'ack', message_id: ids.messageId, reply: { key: `reply:${ids.messageId}`, text: 'Oui.' } });
    const [sent] = await repliesTo(messageId);
    expect(sent!.mail.subject).toBe('RE: Crème brûlée pour Noël et le réveillon du 31');
    tunnel.close();
  });

  it('retries a send the binding failed for now, and gives up at once on a refused address (its address not kept)', async () => {
    const tunnel = await TestTunnel.viaRoute('email-core-3');
    await tunnel.hello(10, 'email-core-3');
    const retried = freshMessageId('retry');
    const retriedIds = await idsOf(ADA, retried);
    await failEmail({ error: 'Too many requests, try again later', to: ADA });
    await deliverEmail(eml(EML.plain, { 'Message-ID': retried }));
    await deliveryOf(tunnel, retriedIds.messageId);
    tunnel.send({ type: 'ack', message_id: retriedIds.messageId, reply: { key: `reply:${retriedIds.messageId}`, text: 'second time lucky' } });
    const attempts = await repliesTo(retried, 2, 15_000);
    expect(attempts.map((a) => a.mail.messageId)).toEqual([attempts[0]!.mail.messageId, attempts[0]!.mail.messageId]);

    const grace = 'grace@example.com';
    const refused = freshMessageId('refused');
    const refusedIds = await idsOf(grace, refused);
    await failEmail({ error: `email to ${grace} not allowed`, to: grace, count: 3 });
    await deliverEmail(eml(EML.plain, { 'Message-ID': refused, From: `Grace <${grace}>` }));
    await deliveryOf(tunnel, refusedIds.messageId);
    tunnel.send({ type: 'ack', message_id: refusedIds.messageId, reply: { key: `reply:${refusedIds.messageId}`, text: 'never arrives' } });
    const failed = await waitFor(
      () =>
        runInDurableObject(relayFor(env), (_relay, state) =>
          state.storage.sql
            .exec<{ last_error: string; attempts: number }>('SELECT last_error, attempts FROM outbox WHERE key = ? AND failed_at IS NOT NULL', `reply:${refusedIds.messageId}`)
            .toArray()[0],
        ),
      'the refused reply marked failed',
    );
    expect(failed.attempts).toBe(1);
    expect(failed.last_error).toContain('not allowed');
    expect(failed.last_error).not.toContain(grace);
    expect(await repliesTo(refused)).toHaveLength(1);
    tunnel.close();
  });
});

describe('who may write', () => {
  const withAccess = (vars: Record<string, string>) => ({ ...env, ...vars }) as Env;

  it('under an allowlist, stores mail of a listed address only', async () => {
    const bindings = withAccess({ HEARTH_ACCESS_POLICY: 'allowlist', HEARTH_ALLOWLIST: 'email:grace@example.com' });
    const listed = fresh(EML.plain, { From: 'Grace <Grace@Example.com>' });
    const unlisted = fresh(EML.plain);
    expect(await deliverEmail(listed.raw, { bindings })).toEqual({ rejected: undefined });
    expect(await deliverEmail(unlisted.raw, { bindings })).toEqual({ rejected: undefined });
    expect(await storedRows((await idsOf('grace@example.com', listed.messageId)).messageId)).toHaveLength(1);
    expect(await storedRows((await idsOf(ADA, unlisted.messageId)).messageId)).toEqual([]);
  });

  it('under pairing, mails an unknown sender a pairing code, once, in the thread of their mail', async () => {
    const bindings = withAccess({ HEARTH_ACCESS_POLICY: 'pairing' });
    const sender = 'newcomer@example.com';
    const first = fresh(EML.plain, { From: `New Comer <${sender}>` });
    const second = fresh(EML.plain, { From: `New Comer <${sender}>` });
    await deliverEmail(first.raw, { bindings });
    await deliverEmail(second.raw, { bindings });
    const [notice] = await repliesTo(first.messageId);
    expect(notice!.to).toBe(sender);
    expect(notice!.mail.text).toMatch(/hearth pair approve [A-Z2-9]{4}-[A-Z2-9]{4}/);
    expect(await storedRows((await idsOf(sender, first.messageId)).messageId)).toEqual([]);
    expect((await sentEmails(sender)).length).toBe(1);
  });
});
