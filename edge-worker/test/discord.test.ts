import { type Message, unseal } from '@hearth/shared';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { discordAdapter } from '../src/platforms/discord/adapter.js';
import { sealInteraction, snowflakeTime } from '../src/platforms/discord/credential.js';
import type { OutboundReply } from '../src/platforms/outbound.js';
import { sendAllParts } from '../src/platforms/registry.js';
import { TestTunnel, coreKeys, storedRows, waitFor } from './helpers.js';
import {
  GUILD_ID,
  callsTo,
  channelPath,
  commandInteraction,
  discordCalls,
  editPath,
  failDiscord,
  followUpPath,
  freshChannel,
  interactionToken,
  pingInteraction,
  postDiscord,
  pressInteraction,
  privateKey,
  snowflake,
  storedCredential,
  storedDiscordMessage,
} from './discord-helpers.js';

// Storage is per test file, not per test: every test uses its own channels and interaction ids.

const now = () => Math.floor(Date.now() / 1000);
const ADA = '80351110224678912';

describe('POST /webhooks/discord: signature', () => {
  const ask = (channel: string) => commandInteraction({ channel, user: ADA }, 'let me in');

  it.each<[string, () => Parameters<typeof postDiscord>[1]]>([
    ['no signature', () => ({ signature: null })],
    ['an empty signature', () => ({ signature: '' })],
    ['a malformed signature', () => ({ signature: 'not-hex' })],
    ['a signature of another key', () => ({ signature: 'ab'.repeat(64) })],
    ['no timestamp', () => ({ headers: { 'X-Signature-Timestamp': '' } })],
    // Signed for one timestamp, sent with another: the timestamp is part of what is signed.
    ['a timestamp other than the signed one', () => ({ headers: { 'X-Signature-Timestamp': String(now() - 1) } })],
  ])('answers 401 to %s and stores nothing', async (_name, options) => {
    const channel = freshChannel();
    const body = ask(channel);
    const response = await postDiscord(body, options());
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await storedRows(`discord:${channel}:${body.id}`)).toEqual([]);
    expect(await storedCredential(`discord:${channel}:${body.id}`)).toBeUndefined();
  });

  it('answers 401 to the signature of a different body', async () => {
    const { discordSignatureOf } = await import('../../tests/fakes/discord-payloads.js');
    const channel = freshChannel();
    const raw = JSON.stringify(ask(channel));
    const timestamp = String(now());
    const signature = await discordSignatureOf(raw.replace('let me in', 'let me out'), timestamp, privateKey());
    const response = await postDiscord(raw, { timestamp, signature });
    expect(response.status).toBe(401);
    expect(await storedRows(`discord:${channel}:${JSON.parse(raw).id}`)).toEqual([]);
  });

  it.each([
    ['more than 5 minutes old (a replay)', -301],
    ['more than 5 minutes ahead', 301],
  ])('answers 401 to a correctly signed request %s', async (_name, offset) => {
    const channel = freshChannel();
    const body = ask(channel);
    const response = await postDiscord(body, { timestamp: String(now() + offset) });
    expect(response.status).toBe(401);
    expect(await storedRows(`discord:${channel}:${body.id}`)).toEqual([]);
  });

  it('takes a request signed 4 minutes ago', async () => {
    const channel = freshChannel();
    const body = ask(channel);
    const response = await postDiscord(body, { timestamp: String(now() - 240) });
    expect(response.status).toBe(200);
    expect(await storedRows(`discord:${channel}:${body.id}`)).toHaveLength(1);
  });
});

describe('POST /webhooks/discord: PING', () => {
  it('answers a PING with a PONG', async () => {
    const response = await postDiscord(pingInteraction());
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ type: 1 });
  });

  it('answers 401 to an unsigned PING: Discord checks that the endpoint refuses those', async () => {
    expect((await postDiscord(pingInteraction(), { signature: null })).status).toBe(401);
  });
});

describe('POST /webhooks/discord: malformed and unhandled bodies', () => {
  const where = () => ({ channel: freshChannel(), user: ADA });
  it.each<[string, () => unknown]>([
    ['a body that is not JSON', () => '{"type": 2, "data": {'],
    ['JSON without a type', () => ({ id: snowflake() })],
    ['a command without a channel', () => ({ ...commandInteraction(where(), 'hi'), channel_id: undefined })],
    ['a channel id that could break our ids', () => commandInteraction({ ...where(), channel: '123:456' }, 'hi')],
    ['a command without a token', () => ({ ...commandInteraction(where(), 'hi'), token: '' })],
    ['a custom_id over 100 characters', () => pressInteraction(where(), snowflake(), 'x'.repeat(101))],
  ])('answers 400 to %s', async (_name, body) => {
    const response = await postDiscord(body());
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'bad_request' } });
  });

  it('answers 200 to an interaction type it does not handle (autocomplete), and stores nothing', async () => {
    const response = await postDiscord({ ...commandInteraction(where(), 'h'), type: 4 });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, stored: 0, ignored: 1 });
  });

  it('answers an /ask without text with a note only its sender sees, and stores nothing', async () => {
    const body = commandInteraction(where(), '   ');
    const response = await postDiscord(body);
    expect(await response.json()).toEqual({ type: 4, data: { content: 'Nothing to answer.', flags: 64 } });
    expect(await storedRows(`discord:${body.channel_id}:${body.id}`)).toEqual([]);
  });
});

describe('POST /webhooks/discord: commands', () => {
  it('stores /ask in a DM sealed, normalized, as discord:<channel>:<interaction id>, and defers the answer', async () => {
    const channel = freshChannel();
    const body = commandInteraction({ channel, user: ADA }, 'What is <@123> up to? @everyone');
    const response = await postDiscord(body);
    expect(response.status).toBe(200);
    // Deferred: Discord shows "thinking…" until the reply edits it.
    expect(await response.json()).toEqual({ type: 5 });
    const messageId = `discord:${channel}:${body.id}`;
    const [row] = await storedRows(messageId);
    expect(row!.sealed).not.toContain('up to');
    const ms = snowflakeTime(body.id);
    expect(await storedDiscordMessage(messageId)).toEqual({
      message_id: messageId,
      platform: 'discord',
      conversation: { id: `discord:${channel}`, type: 'private' },
      sender: { id: `discord:${ADA}`, name: 'Ada' },
      content: { text: 'What is <@123> up to? @everyone', attachments: [], entities: [] },
      reply_to: null,
      timestamp: Math.floor(ms / 1000),
      timestamp_ms: ms,
    } satisfies Message);
  });

  it('keeps the interaction token only sealed: neither the stored credential nor the message holds it', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token }, 'a secret-free question');
    await postDiscord(body);
    const messageId = `discord:${channel}:${body.id}`;
    const credential = await storedCredential(messageId);
    expect(credential).toMatchObject({ used: 0, expires_at: snowflakeTime(body.id) + 15 * 60_000 - 30_000 });
    expect(credential!.sealed).not.toContain(token);
    expect(atobSafe(credential!.sealed)).not.toContain(token.slice(0, 24));
    const [row] = await storedRows(messageId);
    expect(await unseal(row!.sealed, coreKeys())).not.toContain(token);
  });

  it('stores a command in a guild channel as the channel’s conversation, the member as sender', async () => {
    const channel = freshChannel();
    const body = commandInteraction({ channel, user: ADA, guild: GUILD_ID }, 'hello all');
    expect(await (await postDiscord(body)).json()).toEqual({ type: 5 });
    expect(await storedDiscordMessage(`discord:${channel}:${body.id}`)).toMatchObject({
      conversation: { id: `discord:${channel}`, type: 'group' },
      sender: { id: `discord:${ADA}` },
      content: { text: 'hello all' },
    });
  });

  it.each([
    ['reset', {}, '/reset'],
    ['context', {}, '/context'],
    ['remember', { fact: 'I like tea' }, '/remember I like tea'],
    ['forget', { item: 'tea' }, '/forget tea'],
    ['stop', {}, '/stop'],
  ])('writes /%s as the command the core reads', async (name, options, text) => {
    const channel = freshChannel();
    const body = commandInteraction({ channel, user: ADA }, undefined, name, options);
    expect(await (await postDiscord(body)).json()).toEqual({ type: 5 });
    expect((await storedDiscordMessage(`discord:${channel}:${body.id}`)).content.text).toBe(text);
  });

  it('stores an interaction once when it comes again, and answers both', async () => {
    const channel = freshChannel();
    const body = commandInteraction({ channel, user: ADA }, 'hello?');
    expect(await (await postDiscord(body)).json()).toEqual({ type: 5 });
    expect(await (await postDiscord(body)).json()).toEqual({ type: 5 });
    expect(await storedRows(`discord:${channel}:${body.id}`)).toHaveLength(1);
  });
});

describe('POST /webhooks/discord: button presses', () => {
  it('stores a press as the button data, in the conversation of the message it is under, answered with a deferred update', async () => {
    const channel = freshChannel();
    const under = snowflake();
    const body = pressInteraction({ channel, user: ADA, guild: GUILD_ID }, under, 'fb:u:abc123');
    const response = await postDiscord(body);
    expect(await response.json()).toEqual({ type: 6 });
    expect(await storedDiscordMessage(`discord:${channel}:${body.id}`)).toMatchObject({
      platform: 'discord',
      conversation: { id: `discord:${channel}`, type: 'group' },
      sender: { id: `discord:${ADA}` },
      content: { text: 'fb:u:abc123', entities: [{ type: 'button', offset: 0, length: 0, value: 'fb:u:abc123' }] },
      reply_to: `discord:${channel}:${under}`,
    });
  });

  it('answers 401 to an unsigned press and stores nothing', async () => {
    const channel = freshChannel();
    const body = pressInteraction({ channel, user: ADA }, snowflake(), 'ap:r:xyz');
    expect((await postDiscord(body, { signature: null })).status).toBe(401);
    expect(await storedRows(`discord:${channel}:${body.id}`)).toEqual([]);
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

/** A core's tunnel, closed when the test ends (passed or not): another test's deliveries never go to it. */
async function openTunnel(): Promise<TestTunnel> {
  const tunnel = await TestTunnel.viaRoute('discord-core');
  onTestFinished(() => tunnel.close());
  await tunnel.hello(10, 'discord-core');
  return tunnel;
}

/** Posts `body`, takes its delivery on a fresh core and acks it with `text` (and `buttons`). */
async function answer(body: { id: string; channel_id: string }, text: string, buttons?: { label: string; data: string }[][]) {
  const messageId = `discord:${body.channel_id}:${body.id}`;
  const tunnel = await openTunnel();
  expect((await postDiscord(body)).status).toBe(200);
  const deliver = await deliveryOf(tunnel, messageId);
  tunnel.send({ type: 'ack', message_id: messageId, reply: { key: `reply:${messageId}`, text, ...(buttons ? { buttons } : {}) } });
  return { tunnel, messageId, deliver };
}

const callsAppear = (paths: string[], count: number) =>
  waitFor(async () => {
    const calls = await callsTo(...paths);
    return calls.length >= count ? calls : undefined;
  }, `${count} calls to ${paths.join(' or ')}`);

describe('replies to Discord', () => {
  it('edits the deferred answer of a command with the reply, once, pinging nobody', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token }, 'ping');
    const { tunnel, messageId, deliver } = await answer(body, 'pong @everyone <@123>');
    expect(JSON.parse(await unseal(deliver.sealed, coreKeys()))).toMatchObject({ content: { text: 'ping' } });
    const [edit] = await callsAppear([editPath(token)], 1);
    expect(edit).toMatchObject({ method: 'PATCH', authorization: '', body: { content: 'pong @everyone <@123>', allowed_mentions: { parse: [] } } });
    // Exactly once: the same ack again, after a processed round trip, sends nothing more.
    tunnel.send({ type: 'ack', message_id: messageId, reply: { key: `reply:${messageId}`, text: 'pong' } });
    await tunnel.barrier();
    expect(await callsTo(editPath(token), followUpPath(token), channelPath(channel))).toHaveLength(1);
    expect((await storedCredential(messageId))?.used).toBe(1);
  });

  it('sends a long reply as an edit, then follow-ups of 2,000 characters at most, the buttons under the last', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const text = `${Array(70).fill('Lorem ipsum dolor sit amet.').join(' ')}\n\n${'b'.repeat(1500)}`;
    const buttons = [[{ label: '👍', data: 'fb:u:abc' }, { label: '👎', data: 'fb:d:abc' }]];
    await answer(commandInteraction({ channel, user: ADA, token }, 'tell me more'), text, buttons);
    const calls = await callsAppear([editPath(token), followUpPath(token)], 2);
    expect(calls.map((c) => [c.method, c.path])).toEqual([
      ['PATCH', editPath(token)],
      ['POST', followUpPath(token)],
    ]);
    expect(calls.every((c) => String(c.body.content).length <= 2_000)).toBe(true);
    expect(calls.map((c) => c.body.content).join('\n\n')).toBe(text);
    expect(calls[0]!.body).not.toHaveProperty('components');
    expect(calls[1]!.body.components).toEqual([
      {
        type: 1,
        components: [
          { type: 2, style: 2, label: '👍', custom_id: 'fb:u:abc' },
          { type: 2, style: 2, label: '👎', custom_id: 'fb:d:abc' },
        ],
      },
    ]);
  });

  it('sends a second reply to the same interaction (a question pushed during the turn, then the answer) as a follow-up', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const body = commandInteraction({ channel, user: ADA, token }, 'run the tool');
    const messageId = `discord:${channel}:${body.id}`;
    const tunnel = await openTunnel();
    await postDiscord(body);
    await deliveryOf(tunnel, messageId);
    tunnel.send({ type: 'reply', key: `ask:${messageId}`, conversation_id: `discord:${channel}`, in_reply_to: messageId, text: 'Run the tool?' });
    await callsAppear([editPath(token)], 1);
    tunnel.send({ type: 'ack', message_id: messageId, reply: { key: `reply:${messageId}`, text: 'Done.' } });
    const calls = await callsAppear([editPath(token), followUpPath(token)], 2);
    expect(calls.map((c) => [c.method, c.body.content])).toEqual([
      ['PATCH', 'Run the tool?'],
      ['POST', 'Done.'],
    ]);
  });

  it("answers a press with a follow-up: the message the button is under is not the reply's to edit", async () => {
    const channel = freshChannel();
    const token = interactionToken();
    await answer(pressInteraction({ channel, user: ADA, token }, snowflake(), 'ap:r:1'), 'Ran it.');
    const [call] = await callsAppear([followUpPath(token)], 1);
    expect(call!.body.content).toBe('Ran it.');
    expect(await callsTo(editPath(token))).toEqual([]);
  });

  it("posts in the channel with the bot token once the interaction's 15 minutes are over", async () => {
    const channel = freshChannel();
    const token = interactionToken();
    // The interaction is 16 minutes old (its id says when it was made); the request is signed now.
    const body = commandInteraction({ channel, user: ADA, token, id: snowflake(Date.now() - 16 * 60_000) }, 'still there?');
    await answer(body, 'Yes, late.');
    const [post] = await callsAppear([channelPath(channel)], 1);
    expect(post).toMatchObject({ authorization: `Bot ${inject('discordBotToken')}`, body: { content: 'Yes, late.', allowed_mentions: { parse: [] } } });
    expect(await callsTo(editPath(token), followUpPath(token))).toEqual([]);
  });

  it('posts in the channel when Discord says the interaction is gone before its time', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    await failDiscord({ path: token, status: 404, code: 10062, message: 'Unknown interaction' });
    await answer(commandInteraction({ channel, user: ADA, token }, 'hello'), 'Hello!');
    const [post] = await callsAppear([channelPath(channel)], 1);
    expect(post!.body.content).toBe('Hello!');
    expect(await callsTo(editPath(token))).toHaveLength(1);
  });

  it("retries a rate-limited edit after Discord's retry_after, and sends it once", async () => {
    const channel = freshChannel();
    const token = interactionToken();
    await failDiscord({ path: token, status: 429, message: 'You are being rate limited.', retryAfter: 1.2 });
    await answer(commandInteraction({ channel, user: ADA, token }, 'hello'), 'after the wait');
    const edits = await waitFor(async () => {
      const sent = await callsTo(editPath(token));
      return sent.length >= 2 ? sent : undefined;
    }, 'the retried edit', 15_000);
    expect(edits.map((c) => c.body.content)).toEqual(['after the wait', 'after the wait']);
    expect(edits[1]!.at - edits[0]!.at).toBeGreaterThanOrEqual(1_200);
  });
});

describe('sending to the Discord API', () => {
  const config = () => loadConfig(env);
  const reply = (channel: string, text = 'hello'): OutboundReply => ({ conversationId: `discord:${channel}`, inReplyTo: null, text });

  it.each([
    [429, 0, true],
    [500, 0, true],
    [502, 0, true],
    [404, 10003, false],
    [403, 50001, false],
    [403, 50013, false],
    [400, 50035, false],
  ])('maps HTTP %i (code %i) to retryable=%s', async (status, code, retryable) => {
    const channel = freshChannel();
    await failDiscord({ path: channel, status, code, message: 'scripted' });
    expect(await sendAllParts(discordAdapter, reply(channel), config())).toMatchObject({ ok: false, retryable, status });
  });

  it('waits the longest of retry_after, Retry-After and X-RateLimit-Reset-After on a 429', async () => {
    const channel = freshChannel();
    await failDiscord({ path: channel, status: 429, retryAfter: 1.5, resetAfter: 2.25 });
    expect(await sendAllParts(discordAdapter, reply(channel), config())).toMatchObject({ ok: false, retryable: true, status: 429, retryAfterMs: 2_250 });
  });

  it('reports a network failure as retryable', async () => {
    const base = config();
    const broken = { ...base, discord: { ...base.discord!, apiBase: 'http://127.0.0.1:9' } };
    expect(await sendAllParts(discordAdapter, reply(freshChannel()), broken)).toMatchObject({ ok: false, retryable: true, status: 0 });
  });

  it('refuses an empty reply without calling Discord', async () => {
    const channel = freshChannel();
    expect(await sendAllParts(discordAdapter, reply(channel, ' \n '), config())).toMatchObject({ ok: false, retryable: false });
    expect(await callsTo(channelPath(channel))).toEqual([]);
  });

  it('cuts a long text to 2,000 characters a message, in order', async () => {
    const channel = freshChannel();
    const text = `${'a'.repeat(1900)}\n\n${'b'.repeat(1900)}\n\n${'c'.repeat(500)}`;
    expect(await sendAllParts(discordAdapter, reply(channel, text), config())).toEqual({ ok: true });
    expect((await callsTo(channelPath(channel))).map((c) => c.body.content)).toEqual(['a'.repeat(1900), 'b'.repeat(1900), 'c'.repeat(500)]);
  });

  it('lays out rows Discord cannot hold again, five buttons a row', async () => {
    const channel = freshChannel();
    const buttons = Array.from({ length: 7 }, (_, i) => [{ label: `${i}`, data: `b:${i}` }]);
    expect(await sendAllParts(discordAdapter, { ...reply(channel), buttons }, config())).toEqual({ ok: true });
    const [post] = await callsTo(channelPath(channel));
    const rows = post!.body.components as { components: { custom_id: string }[] }[];
    expect(rows.map((row) => row.components.map((b) => b.custom_id))).toEqual([
      ['b:0', 'b:1', 'b:2', 'b:3', 'b:4'],
      ['b:5', 'b:6'],
    ]);
  });

  it('never names the interaction token in an outcome', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const id = snowflake();
    const messageId = `discord:${channel}:${id}`;
    const credential = await sealInteraction(inject('discordBotToken'), messageId, id, { token, original: true });
    await failDiscord({ path: token, status: 400, code: 50035, message: 'Invalid Form Body' });
    const outcome = await sendAllParts(discordAdapter, { ...reply(channel), inReplyTo: messageId, credential: { ...credential, used: false } }, config());
    expect(outcome).toMatchObject({ ok: false, retryable: false, status: 400, description: 'edit of the original response: 50035 Invalid Form Body' });
    expect(JSON.stringify(outcome)).not.toContain(token);
  });

  it('does not open a credential sealed for another message', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    const id = snowflake();
    const credential = await sealInteraction(inject('discordBotToken'), `discord:${channel}:${id}`, id, { token, original: true });
    const moved = { ...reply(channel), inReplyTo: `discord:${channel}:${snowflake()}`, credential: { ...credential, used: false } };
    expect(await sendAllParts(discordAdapter, moved, config())).toEqual({ ok: true });
    // It went to the channel with the bot token, not with the token of another message.
    expect(await callsTo(channelPath(channel))).toHaveLength(1);
    expect((await discordCalls()).some((c) => c.path.includes(token))).toBe(false);
  });

  it('shows typing in the channel with the bot token', async () => {
    const channel = freshChannel();
    await discordAdapter.typing!(`discord:${channel}`, 'discord:x:1', config());
    const typing = (await discordCalls()).filter((c) => c.path === `/channels/${channel}/typing`);
    expect(typing).toMatchObject([{ method: 'POST', authorization: `Bot ${inject('discordBotToken')}` }]);
  });
});

/** The base64url parts of a sealed credential, decoded as Latin-1 (to look for the token in them). */
function atobSafe(sealed: string): string {
  return sealed
    .split('.')
    .map((part) => atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    .join('');
}
