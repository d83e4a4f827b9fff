import { MessageSchema, seal, unseal, type Message } from '@hearth/shared';
import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import type { RecordedWhatsAppCall } from '../../tests/fakes/whatsapp-cloud-api.js';
import { loadConfig } from '../src/config.js';
import { sendAllParts } from '../src/platforms/registry.js';
import { messageParts, splitText } from '../src/platforms/split-text.js';
import { whatsappAdapter } from '../src/platforms/whatsapp/adapter.js';
import { relayFor } from '../src/relay/stub.js';
import audio from './fixtures/whatsapp/audio.json';
import button from './fixtures/whatsapp/button.json';
import contacts from './fixtures/whatsapp/contacts.json';
import document from './fixtures/whatsapp/document.json';
import image from './fixtures/whatsapp/image.json';
import buttonReply from './fixtures/whatsapp/interactive-button-reply.json';
import listReply from './fixtures/whatsapp/interactive-list-reply.json';
import location from './fixtures/whatsapp/location.json';
import reactionRemoved from './fixtures/whatsapp/reaction-removed.json';
import reaction from './fixtures/whatsapp/reaction.json';
import several from './fixtures/whatsapp/several.json';
import statuses from './fixtures/whatsapp/statuses.json';
import sticker from './fixtures/whatsapp/sticker.json';
import text from './fixtures/whatsapp/text.json';
import unsupported from './fixtures/whatsapp/unsupported.json';
import video from './fixtures/whatsapp/video.json';
import voice from './fixtures/whatsapp/voice.json';
import { TestTunnel, coreKeys, freshRelay, storedRows, waitFor } from './helpers.js';
import { failWhatsApp, metaJson, postWhatsApp, sign, textWebhook, whatsappCalls } from './whatsapp-helpers.js';

// Storage is per test file, not per test: every test uses its own wa_ids and wamids.

const PHONE_NUMBER_ID = inject('whatsappPhoneNumberId');



/** The normalized message stored for a wamid, unsealed with the core's key. */
async function storedMessage(wamid: string): Promise<Message> {
  const [row] = await storedRows(`whatsapp:${wamid}`);
  if (!row) throw new Error(`nothing stored for ${wamid}`);
  return MessageSchema.parse(JSON.parse(await unseal(row.sealed, coreKeys())));
}

/** The calls the fake Graph API recorded (it runs in Node; we are in workerd). */

const firstMessageOf = (webhook: { entry: { changes: { value: { messages?: { id: string }[] } }[] }[] }) => {
  const id = webhook.entry[0]?.changes[0]?.value.messages?.[0]?.id;
  if (!id) throw new Error('fixture without a message');
  return id;
};

describe('GET /webhooks/whatsapp (subscription handshake)', () => {
  const handshake = (params: Record<string, string>) =>
    SELF.fetch(`https://edge.test/webhooks/whatsapp?${new URLSearchParams(params)}`);

  it('echoes hub.challenge, as plain text, to the right verify token', async () => {
    const response = await handshake({ 'hub.mode': 'subscribe', 'hub.verify_token': inject('whatsappVerifyToken'), 'hub.challenge': '1158201444' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('1158201444');
  });

  it.each([
    ['a wrong verify token', { 'hub.mode': 'subscribe', 'hub.verify_token': 'test-whatsapp-verify-tokeN', 'hub.challenge': '1' }],
    ['a verify token with a prefix of the right one', { 'hub.mode': 'subscribe', 'hub.verify_token': 'test-whatsapp', 'hub.challenge': '1' }],
    ['no verify token', { 'hub.mode': 'subscribe', 'hub.challenge': '1' }],
    ['another mode', { 'hub.mode': 'unsubscribe', 'hub.verify_token': 'test-whatsapp-verify-token', 'hub.challenge': '1' }],
    ['no challenge', { 'hub.mode': 'subscribe', 'hub.verify_token': 'test-whatsapp-verify-token' }],
  ])('answers 403 to %s', async (_name, params) => {
    const response = await handshake(params);
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});

describe('POST /webhooks/whatsapp: signature', () => {
  it.each<[string, (body: string) => Promise<string | null>]>([
    ['no signature header', async () => null],
    ['an empty signature header', async () => ''],
    ['a malformed signature', async () => 'sha256=not-hex'],
    ['a SHA-1 signature', async () => `sha1=${'0'.repeat(40)}`],
    ['a signature keyed with another secret', (body) => sign(body, 'another-app-secret')],
    ['the signature of a different body', (body) => sign(body.replace('let me in', 'let me out'))],
    // Meta signs the bytes it sent (non-ASCII escaped); the same JSON re-serialised is other bytes.
    ['the signature of the same JSON re-serialised', (body) => sign(JSON.stringify(JSON.parse(body)))],
  ])('answers 401 to %s and stores nothing', async (_name, signatureFor) => {
    const wamid = `wamid.signature-${crypto.randomUUID()}`;
    const body = metaJson(textWebhook([{ from: '16505553001', id: wamid, body: 'Grüße, let me in' }]));
    const response = await postWhatsApp(body, await signatureFor(body));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await storedRows(`whatsapp:${wamid}`)).toEqual([]);
  });

  it('checks the raw bytes: a body Meta escaped (\\uXXXX) verifies and keeps its characters', async () => {
    const raw = metaJson(textWebhook([{ from: '16505553002', id: 'wamid.signature-test-0002', body: 'Grüße 👋' }]));
    expect(raw).toContain('\\u00fc');
    const response = await postWhatsApp(raw, await sign(raw));
    expect(response.status).toBe(200);
    expect((await storedMessage('wamid.signature-test-0002')).content.text).toBe('Grüße 👋');
  });
});

describe('POST /webhooks/whatsapp: malformed bodies', () => {
  const valid = textWebhook([{ from: '16505553101', id: 'wamid.malformed-0001', body: 'hi' }]);
  const value = valid.entry[0]!.changes[0]!.value;
  it.each([
    ['a body that is not JSON', '{"object": "whatsapp_business_account", "entry": ['],
    ['JSON that is not a webhook', { hello: 'world' }],
    ['another object than a WhatsApp Business Account', { ...valid, object: 'page' }],
    ['a messages change without metadata', { ...valid, entry: [{ id: '1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp' } }] }] }],
    [
      'a message without an id',
      { ...valid, entry: [{ id: '1', changes: [{ field: 'messages', value: { ...value, messages: [{ from: '1', timestamp: '1', type: 'text' }] } }] }] },
    ],
  ])('answers 400 to %s and stores nothing', async (_name, body) => {
    const response = await postWhatsApp(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(await storedRows('whatsapp:wamid.malformed-0001')).toEqual([]);
  });
});

describe('POST /webhooks/whatsapp: normalization', () => {
  const base = (from: string, name: string, timestamp: number, replyTo: string | null = null) => ({
    platform: 'whatsapp' as const,
    conversation: { id: `whatsapp:${from}`, type: 'private' as const },
    sender: { id: `whatsapp:${from}`, name },
    reply_to: replyTo,
    timestamp,
  });

  const cases: [string, { entry: { changes: { value: { messages?: { id: string }[] } }[] }[] }, Omit<Message, 'message_id'>][] = [
    ['a text', text, { ...base('16505551001', 'Ada Lovelace', 1764000001), content: { text: "Hello Hearth, what's on my calendar tomorrow?", attachments: [], entities: [] } }],
    [
      'a forwarded image with a caption',
      image,
      {
        ...base('16505551002', 'Grace Hopper', 1764000002),
        content: { text: 'The new kitchen', attachments: [{ kind: 'photo', file_id: '1479537139650973', mime_type: 'image/jpeg' }], entities: [] },
      },
    ],
    [
      'a document',
      document,
      {
        ...base('16505551003', 'Katherine Johnson', 1764000003),
        content: {
          text: 'November invoice',
          attachments: [{ kind: 'document', file_id: '2208347219637155', mime_type: 'application/pdf', name: 'invoice-2025-11.pdf' }],
          entities: [],
        },
      },
    ],
    [
      'a voice note',
      voice,
      {
        ...base('16505551004', 'Hedy Lamarr', 1764000004),
        content: { text: '', attachments: [{ kind: 'voice', file_id: '1053972536349331', mime_type: 'audio/ogg; codecs=opus' }], entities: [] },
      },
    ],
    [
      'an audio file',
      audio,
      {
        ...base('16505551005', 'Mary Jackson', 1764000005),
        content: { text: '', attachments: [{ kind: 'audio', file_id: '1103541147893602', mime_type: 'audio/mpeg' }], entities: [] },
      },
    ],
    [
      'a video',
      video,
      {
        ...base('16505551006', 'Dorothy Vaughan', 1764000006),
        content: { text: 'Leak under the sink', attachments: [{ kind: 'video', file_id: '884632926963318', mime_type: 'video/mp4' }], entities: [] },
      },
    ],
    [
      'a sticker',
      sticker,
      {
        ...base('16505551007', 'Radia Perlman', 1764000007),
        content: { text: '', attachments: [{ kind: 'sticker', file_id: '732159834823476', mime_type: 'image/webp' }], entities: [] },
      },
    ],
    [
      'a location',
      location,
      {
        ...base('16505551008', 'Barbara Liskov', 1764000008),
        content: {
          text: '',
          attachments: [{ kind: 'location', location: { latitude: 52.516275, longitude: 13.377704 }, name: 'Brandenburg Gate' }],
          entities: [],
        },
      },
    ],
    [
      'shared contacts',
      contacts,
      {
        ...base('16505551009', 'Frances Allen', 1764000009),
        content: {
          text: '',
          attachments: [
            { kind: 'contact', contact: { name: 'Grace Hopper', phone_number: '+1 (650) 555-1234' } },
            { kind: 'contact', contact: { name: 'Plumber', phone_number: '+49 30 1234567' } },
          ],
          entities: [],
        },
      },
    ],
    [
      'a reply button pressed',
      buttonReply,
      {
        ...base('16505551010', 'Annie Easley', 1764000010, 'whatsapp:wamid.HBgLMTY1MDU1NTEwMTAVAgARGBJCVVNJTkVTU19NRVNTQUdFXzAxAA=='),
        content: { text: 'Yes, book it', attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: 'confirm-booking' }] },
      },
    ],
    [
      'a list row chosen',
      listReply,
      {
        ...base('16505551011', 'Evelyn Boyd', 1764000011, 'whatsapp:wamid.HBgLMTY1MDU1NTEwMTEVAgARGBJCVVNJTkVTU19NRVNTQUdFXzAyAA=='),
        content: { text: '9:00', attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: 'slot-0900' }] },
      },
    ],
    [
      "a template's quick-reply button",
      button,
      {
        ...base('16505551012', 'Joan Clarke', 1764000012, 'whatsapp:wamid.HBgLMTY1MDU1NTEwMTIVAgARGBJCVVNJTkVTU19URU1QTEFURV8wMQA='),
        content: { text: 'Stop reminders', attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: 'STOP_REMINDERS' }] },
      },
    ],
    [
      'a reaction',
      reaction,
      {
        ...base('16505551013', 'Margaret Hamilton', 1764000013),
        content: {
          text: '👍',
          attachments: [],
          entities: [{ type: 'reaction', offset: 0, length: 0, value: 'wamid.HBgLMTY1MDU1NTEwMTMVAgARGBJCVVNJTkVTU19NRVNTQUdFXzAzAA==' }],
        },
      },
    ],
  ];

  it.each(cases)('stores %s as one sealed, normalized message', async (_name, fixture, expected) => {
    const wamid = firstMessageOf(fixture);
    const response = await postWhatsApp(fixture);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });
    const [row] = await storedRows(`whatsapp:${wamid}`);
    expect(row).toMatchObject({ conversation_id: expected.conversation.id });
    expect(await storedMessage(wamid)).toEqual({ message_id: `whatsapp:${wamid}`, ...expected });
  });

  it('stores each message of a batched POST once, in order, and nothing new when Meta retries it', async () => {
    const ids = several.entry[0]!.changes[0]!.value.messages.map((m) => `whatsapp:${m.id}`);
    const first = await postWhatsApp(several);
    expect(await first.json()).toEqual({ ok: true, stored: 3, duplicates: 0, withheld: 0, ignored: 0 });
    const retried = await postWhatsApp(several);
    expect(retried.status).toBe(200);
    expect(await retried.json()).toEqual({ ok: true, stored: 0, duplicates: 3, withheld: 0, ignored: 0 });

    const rows = await storedRows(...ids);
    expect(rows.map((r) => r.message_id)).toEqual(ids);
    expect(rows.map((r) => r.conversation_id)).toEqual(['whatsapp:16505551017', 'whatsapp:16505551018', 'whatsapp:16505551017']);
    const messages = await Promise.all(rows.map(async (r) => MessageSchema.parse(JSON.parse(await unseal(r.sealed, coreKeys())))));
    expect(messages.map((m) => [m.content.text, m.sender.name])).toEqual([
      ['first', 'Ada Lovelace'],
      ['second', 'Charles Babbage'],
      ['third', 'Ada Lovelace'],
    ]);
  });

  it('stores a message once when Meta delivers it twice at the same time', async () => {
    const body = textWebhook([{ from: '16505553201', id: 'wamid.concurrent-0001', body: 'twice' }]);
    const [a, b] = await Promise.all([postWhatsApp(body), postWhatsApp(body)]);
    const counts = [await a!.json(), await b!.json()].map((r) => (r as { duplicates: number }).duplicates);
    expect(counts.sort()).toEqual([0, 1]);
    expect(await storedRows('whatsapp:wamid.concurrent-0001')).toHaveLength(1);
  });

  it.each([
    ['a removed reaction', reactionRemoved],
    ['a message type WhatsApp itself does not support', unsupported],
  ])('answers 200 to %s and queues nothing', async (_name, fixture) => {
    const response = await postWhatsApp(fixture);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 0, ignored: 1 });
    expect(await storedRows(`whatsapp:${firstMessageOf(fixture)}`)).toEqual([]);
  });

  it('turns delivery receipts into events, never into messages', async () => {
    const batch = await whatsappAdapter.parse(metaJson(statuses), loadConfig(env));
    const sent = 'whatsapp:wamid.HBgLMTY1MDU1NTEwMTYVAgARGBJCVVNJTkVTU19NRVNTQUdFXzA1AA==';
    expect(batch).toEqual({
      messages: [],
      ignored: [],
      events: [
        { type: 'status', subject: sent, detail: 'sent' },
        { type: 'status', subject: sent, detail: 'delivered' },
        { type: 'status', subject: sent, detail: 'read' },
        {
          type: 'status',
          subject: 'whatsapp:wamid.HBgLMTY1MDU1NTEwMTYVAgARGBJCVVNJTkVTU19NRVNTQUdFXzA2AA==',
          detail: 'failed: Re-engagement message (131047)',
        },
      ],
    });
    const before = (await relayFor(env).stats()).pending;
    const response = await postWhatsApp(statuses);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 0, ignored: 0 });
    expect((await relayFor(env).stats()).pending).toBe(before);
  });

  it("ignores messages addressed to another of the business's numbers", async () => {
    const body = textWebhook([{ from: '16505553301', id: 'wamid.other-number-0001', body: 'not for you' }], '999999999999999');
    const response = await postWhatsApp(body);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 0, ignored: 1 });
    expect(await storedRows('whatsapp:wamid.other-number-0001')).toEqual([]);
    expect((await whatsappAdapter.parse(metaJson(body), loadConfig(env))).ignored).toEqual([
      'message wamid.other-number-0001: addressed to phone_number_id 999999999999999, not this edge\'s',
    ]);
  });

  it('ignores changes of other fields the app is subscribed to, next to the messages it reads', async () => {
    const body = textWebhook([{ from: '16505553401', id: 'wamid.other-field-0001', body: 'hello' }]);
    body.entry[0]!.changes.unshift({ field: 'message_template_status_update', value: { event: 'APPROVED' } } as never);
    const response = await postWhatsApp(body);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 1 });
  });
});


function waMessage(waId: string, wamid: string, body: string): Message {
  return {
    message_id: `whatsapp:${wamid}`,
    platform: 'whatsapp',
    conversation: { id: `whatsapp:${waId}`, type: 'private' },
    sender: { id: `whatsapp:${waId}`, name: 'Ada' },
    content: { text: body, attachments: [], entities: [] },
    reply_to: null,
    timestamp: 1_764_000_000,
  };
}

/** Queues a message in a fresh Relay, has a core take it and answer it with `reply`. */
async function answerThroughRelay(waId: string, wamid: string, reply: string): Promise<void> {
  const { name, stub } = freshRelay('whatsapp');
  const m = waMessage(waId, wamid, 'question');
  await stub.enqueue({ message_id: m.message_id, conversation_id: m.conversation.id, sealed: await seal(JSON.stringify(m), coreKeys()) });
  const tunnel = await TestTunnel.toRelay(name);
  await tunnel.hello(1);
  expect(await tunnel.next('deliver')).toMatchObject({ message_id: `whatsapp:${wamid}` });
  // Acked before the close: the close could overtake the ack frame otherwise.
  await tunnel.ack(`whatsapp:${wamid}`, { key: `reply:whatsapp:${wamid}`, text: reply });
  tunnel.close();
}

/** Waits for `count` text sends to a wa_id and returns every call for it (sends and its read receipts), in order. */
async function callsFor(waId: string, wamid: string, count: number): Promise<RecordedWhatsAppCall[]> {
  return waitFor(async () => {
    const calls = (await whatsappCalls()).filter((c) => c.body.to === waId || c.body.message_id === wamid);
    return calls.filter((c) => c.body.type === 'text').length >= count ? calls : undefined;
  }, `${count} sends to ${waId}`);
}

describe('replies to WhatsApp', () => {
  it('marks the message read, then answers it quoting it, through the Relay', async () => {
    const waId = '16505554001';
    const wamid = `wamid.reply-${crypto.randomUUID()}`;
    await answerThroughRelay(waId, wamid, 'Tomorrow: dentist at 9:00.');
    const calls = await callsFor(waId, wamid, 1);
    expect(calls.map((c) => c.body)).toEqual([
      { messaging_product: 'whatsapp', status: 'read', message_id: wamid },
      {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: waId,
        type: 'text',
        text: { body: 'Tomorrow: dentist at 9:00.', preview_url: false },
        context: { message_id: wamid },
      },
    ]);
    for (const call of calls) {
      expect(call.path).toBe(`/v21.0/${PHONE_NUMBER_ID}/messages`);
      expect(call.authorization).toBe(`Bearer ${inject('whatsappAccessToken')}`);
    }
    expect(calls[0]!.at).toBeLessThanOrEqual(calls[1]!.at);
  });

  it('sends a 5,000-character reply as two messages in order, only the first quoting', async () => {
    const waId = '16505554002';
    const wamid = `wamid.long-${crypto.randomUUID()}`;
    const first = `${'Lorem ipsum dolor sit amet. '.repeat(107)}Done.`;
    const second = 'b'.repeat(5000 - first.length - 2);
    await answerThroughRelay(waId, wamid, `${first}\n\n${second}`);
    const sends = (await callsFor(waId, wamid, 2)).filter((c) => c.body.type === 'text');
    expect(sends).toHaveLength(2);
    expect(sends.map((c) => (c.body.text as { body: string }).body)).toEqual([first, second]);
    expect(sends[0]!.body.context).toEqual({ message_id: wamid });
    expect(sends[1]!.body).not.toHaveProperty('context');
    expect(sends[0]!.at).toBeLessThan(sends[1]!.at);
  });
});

describe('typing indicator', () => {
  it('is a read receipt of the message being answered that shows "typing…"', async () => {
    const wamid = `wamid.typing-${crypto.randomUUID()}`;
    await whatsappAdapter.typing?.('whatsapp:16505554003', `whatsapp:${wamid}`, loadConfig(env));
    const [call] = (await whatsappCalls()).filter((c) => c.body.message_id === wamid);
    expect(call?.body).toEqual({ messaging_product: 'whatsapp', status: 'read', message_id: wamid, typing_indicator: { type: 'text' } });
  });
});

describe('sending to the Graph API', () => {
  const config = () => loadConfig(env);
  const reply = (waId: string, text = 'hello', inReplyTo: string | null = null) => ({ conversationId: `whatsapp:${waId}`, inReplyTo, text });

  it.each([
    ['429 throughput limit', 429, 130429, true],
    ['400 carrying a rate-limit code (too many messages to one user)', 400, 131056, true],
    ['500 something went wrong', 500, 131000, true],
    ['503 service unavailable', 503, 131016, true],
    ['400 undeliverable', 400, 131026, false],
    ['400 outside the 24-hour window', 400, 131047, false],
    ['401 bad access token', 401, 190, false],
  ])('maps %s to retryable=%s', async (_name, status, code, retryable) => {
    const waId = `1650555${5000 + code % 1000}${status}`;
    await failWhatsApp({ to: waId, status, code, message: `scripted ${code}` });
    const outcome = await sendAllParts(whatsappAdapter, reply(waId), config());
    expect(outcome).toMatchObject({ ok: false, retryable, status });
    expect(outcome.ok === false && outcome.description).toContain(`code ${code}`);
  });

  it('reports a network failure as retryable', async () => {
    const base = config();
    const broken = { ...base, whatsapp: { ...base.whatsapp!, apiBase: 'http://127.0.0.1:9/v21.0' } };
    expect(await sendAllParts(whatsappAdapter, reply('16505555901'), broken)).toMatchObject({ ok: false, retryable: true, status: 0 });
  });

  it('still answers when the read receipt fails', async () => {
    const waId = '16505555902';
    const wamid = `wamid.receipt-fails-${crypto.randomUUID()}`;
    await failWhatsApp({ messageId: wamid, status: 500, code: 131000, message: 'Something went wrong' });
    expect(await sendAllParts(whatsappAdapter, reply(waId, 'answer', `whatsapp:${wamid}`), config())).toEqual({ ok: true });
    const calls = await callsFor(waId, wamid, 1);
    expect(calls.map((c) => c.body.status ?? c.body.type)).toEqual(['read', 'text']);
  });

  it('reports a failure midway through a split reply, after the parts already sent', async () => {
    const waId = '16505555903';
    await failWhatsApp({ to: waId, skip: 1, status: 503, code: 131016, message: 'Service unavailable' });
    const outcome = await sendAllParts(whatsappAdapter, reply(waId, `${'a'.repeat(3000)}\n\n${'b'.repeat(3000)}`), config());
    expect(outcome).toMatchObject({ ok: false, retryable: true, status: 503 });
    expect(outcome.ok === false && outcome.description).toMatch(/^part 2 of 2: /);
    const sends = (await whatsappCalls()).filter((c) => c.body.to === waId);
    expect(sends.map((c) => (c.body.text as { body: string }).body)).toEqual(['a'.repeat(3000), 'b'.repeat(3000)]);
  });

  it('refuses an empty reply without calling WhatsApp', async () => {
    const outcome = await sendAllParts(whatsappAdapter, reply('16505555904', ' \n '), config());
    expect(outcome).toMatchObject({ ok: false, retryable: false });
    expect((await whatsappCalls()).filter((c) => c.body.to === '16505555904')).toEqual([]);
  });
});

describe('messageParts', () => {
  it('sends a text that fits as written, whitespace and all', () => {
    expect(messageParts('  hi there \n', 4096)).toEqual(['  hi there \n']);
  });

  it('drops the separator each cut leaves, and parts that were only whitespace', () => {
    const parts = messageParts(`${'a'.repeat(60)}\n\n${'b'.repeat(60)}\n\n   \n\n`, 70);
    expect(parts).toEqual(['a'.repeat(60), 'b'.repeat(60)]);
  });
});

describe('splitText', () => {
  const assertWellFormed = (parts: string[], source: string, max: number) => {
    expect(parts.join('')).toBe(source);
    for (const part of parts) {
      expect(part.length).toBeGreaterThan(0);
      expect(part.length).toBeLessThanOrEqual(max);
      // No part starts with the second half of a surrogate pair or ends with the first.
      expect(part.charCodeAt(0) >= 0xdc00 && part.charCodeAt(0) <= 0xdfff).toBe(false);
      const last = part.charCodeAt(part.length - 1);
      expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
    }
  };

  it('keeps a text within the limit whole, exactly at the limit included', () => {
    expect(splitText('', 10)).toEqual(['']);
    expect(splitText('short', 10)).toEqual(['short']);
    expect(splitText('x'.repeat(4096), 4096)).toEqual(['x'.repeat(4096)]);
    expect(splitText('x'.repeat(4097), 4096)).toEqual(['x'.repeat(4096), 'x']);
  });

  it('cuts hard at the limit when there is no boundary', () => {
    expect(splitText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
  });

  it('prefers a paragraph, then a line, then a sentence, then a space, in the second half', () => {
    expect(splitText('one two. three\nfour five\n\nsix seven', 30)).toEqual(['one two. three\nfour five\n\n', 'six seven']);
    expect(splitText('one two. three four\nfive six seven', 24)).toEqual(['one two. three four\n', 'five six seven']);
    expect(splitText('one two three. four five six', 22)).toEqual(['one two three. ', 'four five six']);
    expect(splitText('one two three four five six', 16)).toEqual(['one two three ', 'four five six']);
  });

  it('does not make a tiny part for a better boundary early on', () => {
    // The paragraph break is in the first half: the later space wins.
    expect(splitText('a\n\nbbbbbbb ccccccc dd', 16)).toEqual(['a\n\nbbbbbbb ', 'ccccccc dd']);
  });

  it('takes any boundary rather than cutting a word', () => {
    expect(splitText('aa bbbbbbbbbbbbbbbbbbbb', 12)).toEqual(['aa ', 'bbbbbbbbbbbb', 'bbbbbbbb']);
  });

  it('never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(7);
    for (const max of [2, 3, 4, 5]) assertWellFormed(splitText(emoji, max), emoji, max);
    const odd = `a${'🎉'.repeat(5)}`;
    expect(splitText(odd, 4)).toEqual(['a🎉', '🎉🎉', '🎉🎉']);
  });

  it('is lossless and within the limit on mixed text', () => {
    const source = Array.from({ length: 300 }, (_, i) => ['Word', 'ünïcödé', '😀👍🏽', 'end.', '\n', '\n\n', 'x'.repeat(i % 50)][i % 7]).join(' ');
    for (const max of [7, 50, 333, 4096]) assertWellFormed(splitText(source, max), source, max);
  });

  it('refuses a limit too small to hold a surrogate pair', () => {
    expect(() => splitText('abc', 1)).toThrow(RangeError);
  });
});
