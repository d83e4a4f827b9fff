import { type Message, seal, unseal } from '@hearth/shared';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { sendAllParts } from '../src/platforms/registry.js';
import { slackAdapter } from '../src/platforms/slack/adapter.js';
import { TestTunnel, coreKeys, freshRelay, repliesSettled, replyStored, storedRows, waitFor } from './helpers.js';
import { FORM, dmEvent, eventCallback, failSlack, freshTs, mentionEvent, postSlack, pressBody, slackPosts, storedSlackMessage } from './slack-helpers.js';

// Storage is per test file, not per test: every test uses its own channels and ts.

const now = () => Math.floor(Date.now() / 1000);

describe('POST /webhooks/slack: signature', () => {
  const dm = (channel: string, ts: string) => eventCallback(dmEvent(channel, 'U0ADA0001', ts, 'let me in'));

  it.each<[string, (raw: string) => Parameters<typeof postSlack>[1]]>([
    ['no signature', () => ({ signature: null })],
    ['an empty signature', () => ({ signature: '' })],
    ['a malformed signature', () => ({ signature: 'v0=not-hex' })],
    ['a signature of another version', () => ({ signature: `v1=${'0'.repeat(64)}` })],
    ['a signature keyed with another secret', () => ({ signature: `v0=${'ab'.repeat(32)}` })],
    ['no timestamp', () => ({ headers: { 'X-Slack-Request-Timestamp': '' } })],
    // Signed for one timestamp, sent with another: the timestamp is part of what is signed.
    ['a timestamp other than the signed one', () => ({ headers: { 'X-Slack-Request-Timestamp': String(now() - 1) } })],
  ])('answers 401 to %s and stores nothing', async (_name, options) => {
    const channel = 'D0SIG0001';
    const ts = freshTs();
    const raw = JSON.stringify(dm(channel, ts));
    const response = await postSlack(raw, options(raw));
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await storedRows(`slack:${channel}:${ts}`)).toEqual([]);
  });

  it('answers 401 to the signature of a different body', async () => {
    const ts = freshTs();
    const raw = JSON.stringify(dm('D0SIG0002', ts));
    const timestamp = String(now());
    const signedForOther = await postSlackSignature(raw.replace('let me in', 'let me out'), timestamp);
    const response = await postSlack(raw, { timestamp, signature: signedForOther });
    expect(response.status).toBe(401);
    expect(await storedRows(`slack:D0SIG0002:${ts}`)).toEqual([]);
  });

  it.each([
    ['more than 5 minutes old (a replay)', -301],
    ['more than 5 minutes ahead', 301],
  ])('answers 401 to a correctly signed request %s', async (_name, offset) => {
    const ts = freshTs();
    const response = await postSlack(dm('D0SIG0003', ts), { timestamp: String(now() + offset) });
    expect(response.status).toBe(401);
    expect(await storedRows(`slack:D0SIG0003:${ts}`)).toEqual([]);
  });

  it('takes a request signed 4 minutes ago', async () => {
    const ts = freshTs();
    const response = await postSlack(dm('D0SIG0004', ts), { timestamp: String(now() - 240) });
    expect(response.status).toBe(200);
    expect(await storedRows(`slack:D0SIG0004:${ts}`)).toHaveLength(1);
  });
});

async function postSlackSignature(raw: string, timestamp: string): Promise<string> {
  const { slackSignatureOf } = await import('../../tests/fakes/slack-payloads.js');
  return slackSignatureOf(raw, timestamp, inject('slackSigningSecret'));
}

describe('POST /webhooks/slack: url_verification', () => {
  const challenge = { token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl', challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P', type: 'url_verification' };

  it('echoes the challenge', async () => {
    const response = await postSlack(challenge);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ challenge: challenge.challenge });
  });

  it('answers 401 to an unsigned one: the challenge proves the URL, not the sender', async () => {
    const response = await postSlack(challenge, { signature: null });
    expect(response.status).toBe(401);
  });
});

describe('POST /webhooks/slack: malformed and unhandled bodies', () => {
  it.each([
    ['a body that is not JSON', '{"type": "event_callback", "event": {'],
    ['JSON without a type', { event: {} }],
    ['an event_callback without event_id', { type: 'event_callback', event: { type: 'message' } }],
    ['an event with a channel id that could break our ids', eventCallback({ ...dmEvent('D0BAD:0001', 'U0ADA0001', '1764000000.000001', 'hi') })],
    // Ignored types are logged by name: a name past 100 characters is not Slack's.
    ['an event type of 101 characters', eventCallback({ type: 'x'.repeat(101), event_ts: '1764000000.000001' })],
  ])('answers 400 to %s and stores nothing', async (_name, body) => {
    const response = await postSlack(body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('answers 200 to an envelope type it does not handle, and stores nothing', async () => {
    const response = await postSlack({ type: 'app_rate_limited', team_id: 'T0HEARTH1', minute_rate_limited: 1518467820, api_app_id: 'A0HEARTH1' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, stored: 0, ignored: 1 });
  });
});

describe('POST /webhooks/slack: events', () => {
  it('stores a DM sealed, normalized, as slack:<channel>:<ts>', async () => {
    const ts = freshTs();
    const response = await postSlack(eventCallback(dmEvent('D0DM00001', 'U0ADA0001', ts, 'Is 1 &lt; 2 &amp;&amp; 3 &gt; 2?')));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, stored: 1 });
    const [row] = await storedRows(`slack:D0DM00001:${ts}`);
    // Sealed: the Relay holds ciphertext only.
    expect(row!.sealed).not.toContain('Is 1');
    expect(await storedSlackMessage(`slack:D0DM00001:${ts}`)).toEqual({
      message_id: `slack:D0DM00001:${ts}`,
      platform: 'slack',
      conversation: { id: 'slack:D0DM00001', type: 'private' },
      sender: { id: 'slack:U0ADA0001' },
      content: { text: 'Is 1 < 2 && 3 > 2?', attachments: [], entities: [] },
      reply_to: null,
      timestamp: Math.floor(Number(ts)),
      timestamp_ms: Math.floor(Number(ts) * 1000),
    } satisfies Message);
  });

  it('stores a mention in a channel without the mention, as a thread of its own', async () => {
    const ts = freshTs();
    await postSlack(eventCallback(mentionEvent('C0CHAN001', 'U0ADA0001', ts, 'what time is it?')));
    expect(await storedSlackMessage(`slack:C0CHAN001:${ts}`)).toMatchObject({
      conversation: { id: `slack:C0CHAN001:${ts}`, type: 'group' },
      content: { text: 'what time is it?' },
      reply_to: null,
    });
  });

  it('stores a reply in a thread in the conversation of its thread', async () => {
    const root = freshTs();
    const ts = freshTs();
    await postSlack(eventCallback(dmEvent('D0DM00002', 'U0ADA0001', ts, 'and tomorrow?', root)));
    expect(await storedSlackMessage(`slack:D0DM00002:${ts}`)).toMatchObject({
      conversation: { id: `slack:D0DM00002:${root}`, type: 'private' },
      reply_to: `slack:D0DM00002:${root}`,
    });
  });

  it("stores an event once when Slack retries it (same event_id, X-Slack-Retry-Num)", async () => {
    const ts = freshTs();
    const body = eventCallback(dmEvent('D0RETRY01', 'U0ADA0001', ts, 'hello?'), 'Ev0RETRY0001');
    const first = await postSlack(body);
    expect(await first.json()).toMatchObject({ stored: 1, duplicates: 0 });
    for (const attempt of ['1', '2']) {
      const retry = await postSlack(body, { headers: { 'X-Slack-Retry-Num': attempt, 'X-Slack-Retry-Reason': 'http_timeout' } });
      expect(retry.status).toBe(200);
      expect(await retry.json()).toMatchObject({ stored: 0, duplicates: 1 });
    }
    expect(await storedRows(`slack:D0RETRY01:${ts}`)).toHaveLength(1);
  });

  it.each([
    ["the app's own reply (bot_id)", (ts: string) => ({ ...dmEvent('D0BOT0001', 'U0HEARTHBOT', ts, 'my answer'), bot_id: 'B0HEARTH1' })],
    ['a bot_message', (ts: string) => ({ ...dmEvent('D0BOT0001', 'U0ADA0001', ts, 'beep'), subtype: 'bot_message' })],
    ['an edit (message_changed)', (ts: string) => ({ ...dmEvent('D0BOT0001', 'U0ADA0001', ts, 'x'), subtype: 'message_changed' })],
    ['a message in a channel (not a DM, not a mention)', (ts: string) => ({ ...dmEvent('C0BOT0001', 'U0ADA0001', ts, 'hi all'), channel_type: 'channel' })],
    ['another event type', (ts: string) => ({ type: 'reaction_added', user: 'U0ADA0001', reaction: 'thumbsup', event_ts: ts })],
    ['a message without text or files', (ts: string) => dmEvent('D0BOT0001', 'U0ADA0001', ts, '  ')],
  ])('ignores %s with a reason, answered 200', async (_name, eventOf) => {
    const ts = freshTs();
    const response = await postSlack(eventCallback(eventOf(ts)));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, stored: 0, ignored: 1 });
    expect(await storedRows(`slack:D0BOT0001:${ts}`, `slack:C0BOT0001:${ts}`)).toEqual([]);
  });
});

describe('POST /webhooks/slack: button presses (Interactivity)', () => {
  it('stores a press as the button value, in the conversation of the message it is under', async () => {
    const root = freshTs();
    const ts = freshTs();
    const actionTs = freshTs();
    const response = await postSlack(pressBody('C0PRESS01', 'U0ADA0001', ts, 'fb:u:abc123', root, actionTs), { headers: FORM });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, stored: 1 });
    expect(await storedSlackMessage(`slack:C0PRESS01:${ts}:press:${actionTs}`)).toMatchObject({
      platform: 'slack',
      conversation: { id: `slack:C0PRESS01:${root}`, type: 'group' },
      sender: { id: 'slack:U0ADA0001' },
      content: { text: 'fb:u:abc123', entities: [{ type: 'button', offset: 0, length: 0, value: 'fb:u:abc123' }] },
      reply_to: `slack:C0PRESS01:${ts}`,
    });
  });

  it('answers 401 to an unsigned press and stores nothing', async () => {
    const ts = freshTs();
    const actionTs = freshTs();
    const response = await postSlack(pressBody('D0PRESS02', 'U0ADA0001', ts, 'ap:r:xyz', undefined, actionTs), { headers: FORM, signature: null });
    expect(response.status).toBe(401);
    expect(await storedRows(`slack:D0PRESS02:${ts}:press:${actionTs}`)).toEqual([]);
  });

  it('answers 400 to a form without a payload, 200 and ignores other interactivity', async () => {
    expect((await postSlack('payload=', { headers: FORM })).status).toBe(400);
    const shortcut = new URLSearchParams({ payload: JSON.stringify({ type: 'shortcut', callback_id: 'x', trigger_id: '1' }) }).toString();
    const response = await postSlack(shortcut, { headers: FORM });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ stored: 0, ignored: 1 });
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

describe('replies to Slack', () => {
  it.each([
    ['a DM, in the DM', (ts: string) => dmEvent('D0REPLY01', 'U0ADA0001', ts, 'ping'), 'D0REPLY01', () => undefined],
    ['a mention, in a thread under it', (ts: string) => mentionEvent('C0REPLY01', 'U0ADA0001', ts, 'ping'), 'C0REPLY01', (ts: string) => ts],
    ['a reply in a DM thread, in that thread', (ts: string, root: string) => dmEvent('D0REPLY02', 'U0ADA0001', ts, 'ping', root), 'D0REPLY02', (_ts: string, root: string) => root],
  ])('answers %s, once, with chat.postMessage', async (_name, eventOf, channel, threadOf) => {
    const root = freshTs();
    const ts = freshTs();
    const messageId = `slack:${channel}:${ts}`;
    const tunnel = await TestTunnel.viaRoute('slack-core');
    await tunnel.hello(10, 'slack-core');
    expect((await postSlack(eventCallback(eventOf(ts, root)))).status).toBe(200);
    const deliver = await deliveryOf(tunnel, messageId);
    // The core reads what was stored: the text, sealed to it.
    expect(JSON.parse(await unseal(deliver.sealed, coreKeys()))).toMatchObject({ content: { text: 'ping' } });
    tunnel.send({ type: 'ack', message_id: messageId, reply: { key: `reply:${messageId}`, text: 'pong <!channel> & <@U0OTHER>' } });
    const [post] = await waitFor(async () => {
      const posts = await slackPosts(channel);
      return posts.length > 0 ? posts : undefined;
    }, `a reply in ${channel}`);
    const threadTs = threadOf(ts, root);
    expect(post!.body).toEqual({
      channel,
      // Escaped: model output pings nobody.
      text: 'pong &lt;!channel&gt; &amp; &lt;@U0OTHER&gt;',
      ...(threadTs ? { thread_ts: threadTs } : {}),
      unfurl_links: false,
      unfurl_media: false,
    });
    expect(post!.authorization).toBe(`Bearer ${inject('slackBotToken')}`);
    // Exactly once: the same ack again, counted void, sends nothing more (a stored duplicate would hold repliesSettled until posted).
    await tunnel.ack(messageId, { key: `reply:${messageId}`, text: 'pong <!channel> & <@U0OTHER>' });
    await repliesSettled(tunnel.relay);
    expect(await slackPosts(channel)).toHaveLength(1);
    tunnel.close();
  });
});

/** A normalized Slack DM, queued straight into a fresh Relay and answered by a core with `reply`. */
async function answerThroughRelay(channel: string, reply: string): Promise<void> {
  const { name, stub } = freshRelay('slack');
  const ts = freshTs();
  const m: Message = {
    message_id: `slack:${channel}:${ts}`,
    platform: 'slack',
    conversation: { id: `slack:${channel}`, type: 'private' },
    sender: { id: 'slack:U0ADA0001' },
    content: { text: 'question', attachments: [], entities: [] },
    reply_to: null,
    timestamp: Math.floor(Number(ts)),
  };
  await stub.enqueue({ message_id: m.message_id, conversation_id: m.conversation.id, sealed: await seal(JSON.stringify(m), coreKeys()) });
  const tunnel = await TestTunnel.toRelay(name);
  await tunnel.hello(1);
  await tunnel.next('deliver');
  tunnel.send({ type: 'ack', message_id: m.message_id, reply: { key: `reply:${m.message_id}`, text: reply } });
  await replyStored(stub, `reply:${m.message_id}`);
  tunnel.close();
}

describe('sending to the Slack Web API', () => {
  const config = () => loadConfig(env);
  const reply = (channel: string, text = 'hello') => ({ conversationId: `slack:${channel}`, inReplyTo: null, text });

  it.each([
    ['ratelimited', 429, true],
    ['ratelimited', 200, true],
    ['internal_error', 200, true],
    ['channel_not_found', 200, false],
    ['not_in_channel', 200, false],
    ['invalid_auth', 200, false],
  ])('maps %s at HTTP %i to retryable=%s', async (error, status, retryable) => {
    const channel = `D0MAP${error.toUpperCase().replace(/_/g, '').slice(0, 10)}${status}`;
    await failSlack({ channel, error, status, ...(error === 'ratelimited' ? { retryAfter: 2 } : {}) });
    const outcome = await sendAllParts(slackAdapter, reply(channel), config());
    expect(outcome).toMatchObject({ ok: false, retryable, status, description: `chat.postMessage: ${error}` });
    if (error === 'ratelimited') expect(outcome).toMatchObject({ retryAfterMs: 2_000 });
  });

  it('reports a network failure as retryable', async () => {
    const base = config();
    const broken = { ...base, slack: { ...base.slack!, apiBase: 'http://127.0.0.1:9' } };
    expect(await sendAllParts(slackAdapter, reply('D0NET0001'), broken)).toMatchObject({ ok: false, retryable: true, status: 0 });
  });

  it('refuses an empty reply without calling Slack', async () => {
    expect(await sendAllParts(slackAdapter, reply('D0EMPTY01', ' \n '), config())).toMatchObject({ ok: false, retryable: false });
    expect(await slackPosts('D0EMPTY01')).toEqual([]);
  });

  it('puts the buttons under the last part as Block Kit, their data as the values', async () => {
    const buttons = [[{ label: '👍', data: 'fb:u:abc' }, { label: '👎', data: 'fb:d:abc' }]];
    expect(await sendAllParts(slackAdapter, { ...reply('D0BUTTON1', 'Was this <good>?'), buttons }, config())).toEqual({ ok: true });
    const [post] = await slackPosts('D0BUTTON1');
    expect(post!.body).toMatchObject({
      text: 'Was this &lt;good&gt;?',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Was this &lt;good&gt;?' } },
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'hearth_0', text: { type: 'plain_text', text: '👍', emoji: true }, value: 'fb:u:abc' },
            { type: 'button', action_id: 'hearth_1', text: { type: 'plain_text', text: '👎', emoji: true }, value: 'fb:d:abc' },
          ],
        },
      ],
    });
  });

  it('cuts the part carrying buttons to the 3,000 characters of a section', async () => {
    const text = `${'a'.repeat(2500)}\n\n${'b'.repeat(1000)}`;
    const buttons = [[{ label: 'Run', data: 'ap:r:1' }]];
    expect(await sendAllParts(slackAdapter, { ...reply('D0BUTTON2', text), buttons }, config())).toEqual({ ok: true });
    const posts = await slackPosts('D0BUTTON2');
    expect(posts.map((c) => [c.body.text, 'blocks' in c.body])).toEqual([
      ['a'.repeat(2500), false],
      ['b'.repeat(1000), true],
    ]);
  });

  it('sends a reply over 4,000 characters as two messages, in order', async () => {
    const first = `${'Lorem ipsum dolor sit amet. '.repeat(140)}Done.`;
    const second = 'b'.repeat(1000);
    expect(await sendAllParts(slackAdapter, reply('D0LONG001', `${first}\n\n${second}`), config())).toEqual({ ok: true });
    expect((await slackPosts('D0LONG001')).map((c) => c.body.text)).toEqual([first, second]);
  });

  it("retries a ratelimited reply after Slack's Retry-After, and sends it once", async () => {
    await failSlack({ channel: 'D0LIMIT01', status: 429, error: 'ratelimited', retryAfter: 1 });
    await answerThroughRelay('D0LIMIT01', 'after the wait');
    const posts = await waitFor(async () => {
      const sent = await slackPosts('D0LIMIT01');
      return sent.length >= 2 ? sent : undefined;
    }, 'the retried reply', 15_000);
    expect(posts.map((c) => c.body.text)).toEqual(['after the wait', 'after the wait']);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(1_000);
  });
});
