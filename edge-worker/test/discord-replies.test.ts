import { unseal } from '@hearth/shared';
import { env } from 'cloudflare:workers';
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { discordAdapter } from '../src/platforms/discord/adapter.js';
import { sealInteraction } from '../src/platforms/discord/credential.js';
import type { OutboundReply } from '../src/platforms/outbound.js';
import { sendAllParts } from '../src/platforms/registry.js';
import { TestTunnel, coreKeys, waitFor } from './helpers.js';
import {
  callsTo,
  channelPath,
  commandInteraction,
  discordCalls,
  editPath,
  failDiscord,
  followUpPath,
  freshChannel,
  interactionToken,
  postDiscord,
  pressInteraction,
  snowflake,
  storedCredential,
} from './discord-helpers.js';

// Storage is per test file, not per test: every test uses its own channels and interaction ids.

const ADA = '80351110224678912';
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
    // A minute old: long past Discord's having our deferred answer.
    await answer(commandInteraction({ channel, user: ADA, token, id: snowflake(Date.now() - 60_000) }, 'hello'), 'Hello!');
    const [post] = await callsAppear([channelPath(channel)], 1);
    expect(post!.body.content).toBe('Hello!');
    expect(await callsTo(editPath(token))).toHaveLength(1);
  });

  it('edits the deferred answer a moment later when Discord has not got it yet (a reply within its first seconds)', async () => {
    const channel = freshChannel();
    const token = interactionToken();
    await failDiscord({ path: token, status: 404, code: 10015, message: 'Unknown Webhook' });
    await answer(commandInteraction({ channel, user: ADA, token }, 'quick'), 'Quick!');
    const edits = await waitFor(async () => {
      const sent = await callsTo(editPath(token));
      return sent.length >= 2 ? sent : undefined;
    }, 'the edit again', 15_000);
    expect(edits.map((c) => c.body.content)).toEqual(['Quick!', 'Quick!']);
    expect(edits[1]!.at - edits[0]!.at).toBeGreaterThanOrEqual(1_000);
    expect(await callsTo(channelPath(channel), followUpPath(token))).toEqual([]);
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

  it('holds the next send into a bucket Discord said is empty (X-RateLimit-Remaining 0), without calling it', async () => {
    const channel = freshChannel();
    await failDiscord({ path: channel, status: 200, resetAfter: 1.5 });
    const text = `${'a'.repeat(1900)}\n\n${'b'.repeat(100)}`;
    const outcome = await sendAllParts(discordAdapter, reply(channel, text), config());
    expect(outcome).toMatchObject({ ok: false, retryable: true, status: 429, description: 'part 2 of 2: channel message: held until its rate limit resets' });
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(1_000);
    expect((outcome as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(1_500);
    expect((await callsTo(channelPath(channel))).map((c) => c.body.content)).toEqual(['a'.repeat(1900)]);
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
