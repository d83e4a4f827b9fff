import { logKeyOf, pseudonymOf } from '@hearth/shared';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandInteraction, interactionToken } from '../fakes/discord-payloads.js';
import { dmEvent, eventCallback } from '../fakes/slack-payloads.js';
import { edgeSettled } from '../support/exactly-once.js';
import { BOT_TOKEN, DISCORD, SLACK, WEBHOOK_SECRET, WHATSAPP, startSystem, textUpdate, whatsappText, type System } from '../support/system.js';

/** The same at both ends, so their pseudonyms of one WhatsApp id match. */
const LOG_KEY = 'hygiene-log-key-0123456789abcdef';

/**
 * Secrets and personal data never reach a log line. The whole system runs (the edge under
 * wrangler dev with Telegram and WhatsApp on, a real core), messages full of PII arrive on all
 * three ways in, are answered, and then every line the edge and the core wrote (everything on
 * their stdout and stderr, wrangler's own output included) is searched for the secrets of the
 * deployment and the PII of the messages. One hit fails the test.
 */
const PII = {
  email: 'ada.lovelace@example.org',
  // Passes Luhn; written as people write it, and as digits only.
  card: '4111 1111 1111 1111',
  cardDigits: '4111111111111111',
  phone: '+44 20 7946 0958',
  phoneDigits: '442079460958',
  // Valid mod-97.
  iban: 'GB82 WEST 1234 5698 7654 32',
  ibanCompact: 'GB82WEST12345698765432',
};
const text = `mail me at ${PII.email}, card ${PII.card}, call ${PII.phone}, IBAN ${PII.iban}; also ${PII.cardDigits} ${PII.ibanCompact} ${PII.phoneDigits}`;

let system: System;
let clientToken: string;

beforeAll(async () => {
  system = await startSystem({
    whatsapp: true,
    slack: true,
    email: true,
    discord: true,
    coreEnv: { HEARTH_ENGINE: 'echo', LOG_LEVEL: 'debug', HEARTH_LOG_KEY: LOG_KEY },
    edgeVars: { HEARTH_LOG_LEVEL: 'debug', HEARTH_LOG_KEY: LOG_KEY },
  });
  clientToken = await system.clientToken('hygiene-user');
}, 180_000);
afterAll(async () => {
  await system?.stop();
});

describe('logs of a whole run', () => {
  it('hold no secret and none of the PII the messages carried', { timeout: 120_000 }, async () => {
    const s = system;
    // Telegram, WhatsApp, Slack, Discord and the client API, each answered (so every log line of the path was written).
    const update = textUpdate(4711, text);
    expect((await s.postUpdate(update)).status).toBe(200);
    expect((await s.postWhatsApp(whatsappText('15550004711', 'wamid.hygiene-1', text))).status).toBe(200);
    const slackTs = `${Math.floor(Date.now() / 1000)}.004711`;
    expect((await s.postSlack(eventCallback(dmEvent('D0HYGIENE', 'U0HYGIENE', slackTs, text)))).status).toBe(200);
    const discordToken = interactionToken();
    const ask = commandInteraction({ channel: '1700000000000004711', user: '1700000000000000001', token: discordToken }, text);
    expect((await s.postDiscord(ask)).status).toBe(200);
    const posted = await fetch(`${s.edge.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', Authorization: `Bearer ${clientToken}` },
      body: JSON.stringify({ conversation_id: 'hygiene', text }),
    });
    expect(posted.status).toBe(202);
    // A mail (its sender's address is PII too), and one refused as unauthenticated.
    const mailFrom = 'hygiene.mail@example.com';
    const mail = (name: string, id: string) =>
      readFileSync(join(import.meta.dirname, '../../edge-worker/test/fixtures/email', name), 'utf8')
        .replaceAll('ada@example.com', mailFrom)
        .replace(/^Message-ID: .*$/m, `Message-ID: <${id}@mail.example.com>`)
        .replace('Could you give me a simple bread recipe?', text)
        .replace(/\r?\n/g, '\r\n');
    expect((await s.postEmail(mail('plain.eml', 'hygiene-1'), { from: mailFrom })).status).toBe(200);
    expect((await s.postEmail(mail('unauthenticated.eml', 'hygiene-2'), { from: mailFrom })).status).toBe(400);
    // Refused requests log too: a wrong secret, a bad signature, a forged token.
    expect((await s.postUpdate(textUpdate(4712, text), `${WEBHOOK_SECRET}x`)).status).toBe(401);
    expect((await s.postWhatsApp(whatsappText('15550004712', 'wamid.hygiene-2', text), `sha256=${'0'.repeat(64)}`)).status).toBe(401);
    const forged = { 'X-Slack-Signature': `v0=${'0'.repeat(64)}` };
    expect((await s.postSlack(eventCallback(dmEvent('D0HYGIENE', 'U0HYGIENE', `${slackTs}1`, text)), forged)).status).toBe(401);
    const forgedAsk = commandInteraction({ channel: '1700000000000004711', user: '1700000000000000001', token: discordToken }, text);
    expect((await s.postDiscord(forgedAsk, { 'X-Signature-Ed25519': '0'.repeat(128) })).status).toBe(401);
    expect((await fetch(`${s.edge.url}/v1/models`, { headers: { Authorization: `Bearer ${clientToken}x` } })).status).toBe(401);

    await s.telegram.waitFor(() => s.telegram.callsOf('sendMessage').some((c) => c.body.chat_id === '4711'));
    // The reply (text, or interactive with feedback buttons) is threaded under the message answered.
    await s.whatsapp!.waitFor((calls) => calls.some((c) => c.body.to === '15550004711' && c.body.context !== undefined));
    await s.slack!.waitFor(() => s.slack!.posts('D0HYGIENE').length > 0);
    await expect.poll(async () => (await s.sentEmails()).some((raw) => raw.includes('<hygiene-1@mail.example.com>')), { timeout: 30_000, interval: 250 }).toBe(true);
    await s.discord!.waitFor(() => s.discord!.edits(discordToken).length > 0);
    // The API reply is stored by the core (and shown to the user's devices): wait for it in the history.
    await expect
      .poll(
        async () => {
          const r = await fetch(`${s.edge.url}/v1/conversations/hygiene/messages`, { headers: { Authorization: `Bearer ${clientToken}` } });
          return r.ok ? ((await r.json()) as { data: { role: string }[] }).data.some((i) => i.role === 'assistant') : false;
        },
        { timeout: 30_000, interval: 500 },
      )
      .toBe(true);
    // What the replies carried is the echo of the text: the path really held the PII.
    expect(s.telegram.callsOf('sendMessage').find((c) => c.body.chat_id === '4711')?.body.text).toContain(PII.email);
    expect(s.discord!.edits(discordToken)[0]?.body.content).toContain(PII.email);
    // Every line written before the scan: the cores exit (their logs end with them), the Relay has
    // nothing left to send (it logs each send as it marks it), and a last refused request's line
    // comes after the rest on the edge's output.
    await Promise.all(s.cores.map((core) => core.stop()));
    await expect.poll(() => edgeSettled(s), { timeout: 30_000, interval: 200 }).toBe(true);
    expect((await fetch(`${s.edge.url}/admin/dead-letters`)).status).toBe(401);
    await expect.poll(() => s.edgeLines.some((l) => l.includes('"path":"/admin/dead-letters"'))).toBe(true);

    const secrets: Record<string, string> = {
      'Telegram bot token': BOT_TOKEN,
      'Telegram bot token (secret part)': BOT_TOKEN.split(':')[1]!,
      'Telegram webhook secret': WEBHOOK_SECRET,
      'WhatsApp app secret': WHATSAPP.appSecret,
      'WhatsApp access token': WHATSAPP.accessToken,
      'Slack signing secret': SLACK.signingSecret,
      'Slack bot token': SLACK.botToken,
      'Discord bot token': DISCORD.botToken,
      'Discord interaction token': discordToken,
      'WhatsApp sender (a phone number)': '15550004711',
      'WhatsApp message id (it encodes the number)': 'wamid.hygiene-1',
      'e-mail sender': mailFrom,
      'client token': clientToken,
      'client token signature': clientToken.split('.')[2]!,
      ...Object.fromEntries(s.keySet.keys.flatMap((k, i) => ('d' in k && typeof k.d === 'string' ? [[`core private key ${i} (d)`, k.d]] : []))),
      ...Object.fromEntries(Object.entries(PII).map(([kind, value]) => [`PII ${kind}`, value])),
    };
    expect(Object.keys(secrets).filter((k) => k.startsWith('core private key')).length).toBeGreaterThan(0);
    const logs = { edge: s.edgeLines, core: s.cores.flatMap((c) => c.raw) };
    // The logs are real and cover the path: message ids of all three ways in appear in them.
    expect(logs.edge.join('\n')).toContain(`telegram:4711:${update.message.message_id}`);
    expect(logs.edge.join('\n')).toContain(`slack:D0HYGIENE:${slackTs}`);
    expect(logs.edge.join('\n')).toContain(`discord:1700000000000004711:${ask.id}`);
    // WhatsApp ids are phone numbers: both ends log the same keyed pseudonym instead.
    const key = logKeyOf(LOG_KEY);
    expect(logs.edge.join('\n')).toContain(pseudonymOf(key, 'whatsapp:wamid.hygiene-1'));
    expect(logs.core.join('\n')).toContain(pseudonymOf(key, 'whatsapp:15550004711'));
    // So are e-mail senders (the core logs none: an e-mail conversation id is a hash).
    expect(logs.edge.join('\n')).toContain(pseudonymOf(key, `email:${mailFrom}`));
    expect(logs.core.length).toBeGreaterThan(10);
    const hits: string[] = [];
    for (const [where, lines] of Object.entries(logs)) {
      for (const line of lines) {
        for (const [what, value] of Object.entries(secrets)) if (line.includes(value)) hits.push(`${where}: ${what} in ${line.slice(0, 300)}`);
      }
    }
    expect(hits).toEqual([]);
  });
});
