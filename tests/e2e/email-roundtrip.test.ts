import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import PostalMime, { type Email } from 'postal-mime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMAIL, startSystem, type System } from '../support/system.js';

/**
 * E-mail end to end: a raw mail handed to the real edge's email() handler (workerd, through
 * wrangler dev's /cdn-cgi/handler/email, as Email Routing would), the Relay, the tunnel, a real
 * core running a real GGUF, and back out through wrangler's local send_email binding, which
 * checks the reply (From, Message-ID) and writes it to a file.
 */
let system: System;
beforeAll(async () => {
  system = await startSystem({ email: true });
});
afterAll(() => system?.stop());

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../edge-worker/test/fixtures/email', name), 'utf8').replace(/\r?\n/g, '\r\n');
let serial = 0;
const freshId = () => `<e2e-${++serial}-${Date.now()}@mail.example.com>`;
const withMessageId = (raw: string, messageId: string) => raw.replace(/^Message-ID: .*$/im, `Message-ID: ${messageId}`);

/** Replies whose In-Reply-To is `messageId`, once there are some, parsed. */
async function repliesTo(messageId: string, timeoutMs = 60_000): Promise<Email[]> {
  let replies: Email[] = [];
  await expect
    .poll(
      async () => {
        const mails = await Promise.all((await system.sentEmails()).map((raw) => PostalMime.parse(raw)));
        replies = mails.filter((m) => m.inReplyTo === messageId);
        return replies.length;
      },
      { timeout: timeoutMs, interval: 250, message: `a reply to ${messageId}` },
    )
    .toBeGreaterThan(0);
  return replies;
}

describe('mail → edge → Relay → tunnel → core → model → send_email', () => {
  it('answers a mail once, in its thread, with the headers a reply needs; the same Message-ID again is not answered again', async () => {
    const messageId = freshId();
    const raw = withMessageId(fixture('plain.eml'), messageId);
    const response = await system.postEmail(raw);
    expect(response.status).toBe(200);
    const [reply] = await repliesTo(messageId);
    expect(reply!.from?.address).toBe(EMAIL.address);
    expect(reply!.to?.map((a) => a.address)).toEqual(['ada@example.com']);
    expect(reply!.subject).toBe('Re: Bread recipe');
    expect(reply!.references).toBe(messageId);
    expect(reply!.messageId).toMatch(/^<hearth\.[0-9a-f]{32}@assistant\.test>$/);
    expect(reply!.headers.find((h) => h.key === 'auto-submitted')?.value).toBe('auto-replied');
    expect(reply!.text?.trim().length).toBeGreaterThan(0);

    // Delivered again (Email Routing retries): stored once, answered once.
    expect((await system.postEmail(raw)).status).toBe(200);
    const again = withMessageId(fixture('plain.eml'), freshId());
    expect((await system.postEmail(again)).status).toBe(200);
    await repliesTo(/Message-ID: (.*)\r/.exec(again)![1]!);
    expect(await repliesTo(messageId)).toHaveLength(1);
    expect(system.core.lines.filter((l) => l.msg === 'replied')).toHaveLength(2);
  });

  it('rejects an unauthenticated mail and drops an auto-reply: neither reaches the core', async () => {
    const replied = () => system.core.lines.filter((l) => l.msg === 'replied').length;
    const before = replied();
    const spoofed = await system.postEmail(withMessageId(fixture('unauthenticated.eml'), freshId()));
    expect(spoofed.status).toBe(400);
    expect(await spoofed.text()).toMatch(/sender not authenticated/);
    expect((await system.postEmail(withMessageId(fixture('auto-reply.eml'), freshId()))).status).toBe(200);
    // A real one after them is answered; by then the two before it would have been too.
    const messageId = freshId();
    await system.postEmail(withMessageId(fixture('alternative.eml'), messageId));
    await repliesTo(messageId);
    expect(replied()).toBe(before + 1);
  });

  it('logs no address, subject or text of the mail at either end', async () => {
    const messageId = freshId();
    const raw = withMessageId(fixture('plain.eml'), messageId).replaceAll('ada@example.com', 'hygiene.check@example.com').replace('Bread recipe', 'Hygiene subject 4711');
    await system.postEmail(raw, { from: 'hygiene.check@example.com' });
    await repliesTo(messageId);
    const lines = [...system.edgeLines, ...system.core.lines.map((l) => JSON.stringify(l))].join('\n');
    expect(lines).toContain('email:~');
    expect(lines).not.toContain('hygiene.check@example.com');
    expect(lines).not.toContain('Hygiene subject 4711');
    expect(lines).not.toContain('simple bread recipe');
  });
});
