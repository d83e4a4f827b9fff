import { MessageSchema, unseal } from '@hearth/shared';
import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { normalizeTelegramUpdate } from '../src/platforms/telegram/normalize.js';
import { TelegramUpdateSchema } from '../src/platforms/telegram/schema.js';
import { relayFor } from '../src/relay/stub.js';
import audio from './fixtures/telegram/audio.json';
import callbackQuery from './fixtures/telegram/callback-query.json';
import channelPost from './fixtures/telegram/channel-post.json';
import contact from './fixtures/telegram/contact.json';
import documentUpdate from './fixtures/telegram/document.json';
import edited from './fixtures/telegram/edited.json';
import groupCommandOtherBot from './fixtures/telegram/group-command-other-bot.json';
import groupAnonymousAdmin from './fixtures/telegram/group-anonymous-admin.json';
import groupCommand from './fixtures/telegram/group-command.json';
import groupMention from './fixtures/telegram/group-mention.json';
import groupOnBehalfOfChannel from './fixtures/telegram/group-on-behalf-of-channel.json';
import groupPlain from './fixtures/telegram/group-plain.json';
import groupReplyToBot from './fixtures/telegram/group-reply-to-bot.json';
import location from './fixtures/telegram/location.json';
import photo from './fixtures/telegram/photo.json';
import poll from './fixtures/telegram/poll.json';
import serviceAccount from './fixtures/telegram/service-account.json';
import sticker from './fixtures/telegram/sticker.json';
import text from './fixtures/telegram/text.json';
import video from './fixtures/telegram/video.json';
import voice from './fixtures/telegram/voice.json';
import { coreKeys, postWebhook, telegramCalls, waitFor } from './helpers.js';

/** Real payload shapes (fixtures/telegram), through the same schema and normalizer as the webhook. */
function normalize(fixture: unknown, config?: Parameters<typeof normalizeTelegramUpdate>[1]) {
  return normalizeTelegramUpdate(TelegramUpdateSchema.parse(fixture), config);
}
function normalized(fixture: unknown, config?: Parameters<typeof normalizeTelegramUpdate>[1]) {
  const result = normalize(fixture, config);
  if (result.kind !== 'message') throw new Error(`ignored: ${result.reason}`);
  return MessageSchema.parse(result.message);
}

describe('Telegram updates, normalized', () => {
  it('text with a command and a URL', () => {
    expect(normalized(text)).toEqual({
      message_id: 'telegram:42:11',
      platform: 'telegram',
      conversation: { id: 'telegram:42', type: 'private' },
      sender: { id: 'telegram:42', name: 'Ada Lovelace' },
      content: {
        text: '/start hi https://example.org',
        attachments: [],
        entities: [
          { type: 'bot_command', offset: 0, length: 6, value: '/start' },
          { type: 'url', offset: 10, length: 19, value: 'https://example.org' },
        ],
      },
      reply_to: null,
      timestamp: 1764000000,
    });
  });

  it.each([
    ['a photo, largest size, caption as text', photo, { kind: 'photo', file_id: 'AgAC-large', size: 98765 }, 'what is this?'],
    ['a document', documentUpdate, { kind: 'document', file_id: 'BQAC-doc', mime_type: 'application/pdf', size: 52000, name: 'report.pdf' }, ''],
    ['a voice note', voice, { kind: 'voice', file_id: 'AwAC-voice', mime_type: 'audio/ogg', size: 8000 }, ''],
    ['audio', audio, { kind: 'audio', file_id: 'CQAC-audio', mime_type: 'audio/mpeg', size: 3000000, name: 'song.mp3' }, ''],
    ['a video', video, { kind: 'video', file_id: 'BAAC-video', mime_type: 'video/mp4', size: 400000, name: 'clip.mp4' }, ''],
    ['a sticker', sticker, { kind: 'sticker', file_id: 'CAAC-sticker', size: 20000, name: '😀' }, ''],
    ['a location', location, { kind: 'location', location: { latitude: 51.5007, longitude: -0.1246 } }, ''],
    ['a contact', contact, { kind: 'contact', contact: { name: 'Grace Hopper', phone_number: '+15551234567' } }, ''],
  ])('%s, as a reference the edge never downloads', (_name, fixture, attachment, caption) => {
    const message = normalized(fixture);
    expect(message.content.attachments).toEqual([attachment]);
    expect(message.content.text).toBe(caption);
  });

  it('an edit, as a new message that says which one it edits', () => {
    const message = normalized(edited);
    expect(message.message_id).toBe('telegram:42:20:edit:1764000100');
    expect(message.content.text).toBe('fixed typo');
    expect(message.content.entities).toContainEqual({ type: 'edit', offset: 0, length: 0, value: 'telegram:42:20' });
  });

  it('a channel post, spoken by the channel', () => {
    const message = normalized(channelPost);
    expect(message.conversation).toEqual({ id: 'telegram:-1009876543210', type: 'channel' });
    expect(message.sender).toEqual({ id: 'telegram:-1009876543210', name: 'News' });
  });

  it("Telegram's shared placeholder users are never the sender: the group or channel that speaks is", () => {
    // Everyone who posts anonymously, anywhere, appears as the same `from` (GroupAnonymousBot, Channel_Bot).
    const named = { botUsername: 'hearth_bot', groupMode: 'addressed' as const };
    expect(normalized(groupAnonymousAdmin, named).sender).toEqual({ id: 'telegram:-1001234567890', name: 'Lab' });
    expect(normalized(groupOnBehalfOfChannel, named).sender).toEqual({ id: 'telegram:-1009876543210', name: "Someone's Channel" });
    expect(normalized(groupOnBehalfOfChannel, named).conversation).toEqual({ id: 'telegram:-1001234567890', type: 'group' });
    // Telegram's service account (777000) with no chat speaking for it: no one to admit.
    expect(normalize(serviceAccount)).toEqual({ kind: 'ignored', reason: 'placeholder_sender' });
  });

  it('a button press, with its data, answering the message the keyboard was under', () => {
    const message = normalized(callbackQuery);
    expect(message).toMatchObject({
      message_id: 'telegram:42:cb:4382bfdwdsb323b2d9',
      conversation: { id: 'telegram:42', type: 'private' },
      sender: { id: 'telegram:42', name: 'Ada Lovelace' },
      content: { text: 'fb:up', entities: [{ type: 'button', offset: 0, length: 0, value: 'fb:up' }] },
      reply_to: 'telegram:42:22',
    });
  });

  it('an update type not handled, ignored with its reason', () => {
    expect(normalize(poll)).toEqual({ kind: 'ignored', reason: 'unhandled_update_type' });
  });
});

describe('groups: only what is addressed to the bot', () => {
  const named = { botUsername: 'hearth_bot', groupMode: 'addressed' as const };
  it.each([
    ['a command to this bot', groupCommand, true],
    ['a command to another bot', groupCommandOtherBot, false],
    ['an @-mention of this bot', groupMention, true],
    ['a reply to this bot', groupReplyToBot, true],
    ['a message among the members', groupPlain, false],
  ])('%s', (_name, fixture, addressed) => {
    expect(normalize(fixture, named).kind).toBe(addressed ? 'message' : 'ignored');
  });

  it('every message with TELEGRAM_GROUP_MODE=all', () => {
    expect(normalize(groupPlain, { botUsername: 'hearth_bot', groupMode: 'all' }).kind).toBe('message');
  });

  it('without the bot username: commands without @ and replies to a bot still count, mentions cannot', () => {
    expect(normalize(groupReplyToBot).kind).toBe('message');
    expect(normalize(groupMention).kind).toBe('ignored');
    expect(normalize(groupCommandOtherBot).kind).toBe('ignored');
  });
});

describe('through the webhook', () => {
  it('stores a button press and answers it, so the button stops spinning', async () => {
    const response = await postWebhook(callbackQuery);
    expect(await response.json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });
    const answered = await waitFor(
      async () => (await telegramCalls()).find((c) => c.method === 'answerCallbackQuery' && c.body.callback_query_id === '4382bfdwdsb323b2d9'),
      'answerCallbackQuery',
    );
    expect(answered.body).toEqual({ callback_query_id: '4382bfdwdsb323b2d9' });
    const [row] = await runInDurableObject(relayFor(env), (_r, state) =>
      state.storage.sql.exec<{ sealed: string }>("SELECT sealed FROM messages WHERE message_id = 'telegram:42:cb:4382bfdwdsb323b2d9'").toArray(),
    );
    expect(JSON.parse(await unseal(row!.sealed, coreKeys())).content.text).toBe('fb:up');
  });

  it('drops a group message not addressed to the bot with 200, and keeps one that is', async () => {
    expect(await (await postWebhook(groupPlain)).json()).toEqual({ ok: true, stored: 0, duplicates: 0, withheld: 0, ignored: 1 });
    expect(await (await postWebhook(groupReplyToBot)).json()).toEqual({ ok: true, stored: 1, duplicates: 0, withheld: 0, ignored: 0 });
  });
});
