import { type Message, unseal } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { snowflakeTime } from '../src/platforms/discord/credential.js';
import { coreKeys, storedRows } from './helpers.js';
import {
  GUILD_ID,
  commandInteraction,
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

/** The base64url parts of a sealed credential, decoded as Latin-1 (to look for the token in them). */
function atobSafe(sealed: string): string {
  return sealed
    .split('.')
    .map((part) => atob(part.replace(/-/g, '+').replace(/_/g, '/')))
    .join('');
}
