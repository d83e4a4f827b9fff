import { TELEGRAM_PLACEHOLDER_SENDERS, type Entity, type Message, type TelegramConfig } from '@hearth/shared';
import { isAddressedToBot } from './addressed.js';
import { attachmentsOf } from './attachments.js';
import type { TelegramCallbackQuery, TelegramMessage, TelegramUpdate, TelegramUser } from './schema.js';

export type Normalized = { kind: 'message'; message: Message } | { kind: 'ignored'; reason: string };

/** The callback query id inside a button press's message id (`telegram:<chat>:cb:<id>`). */
export const callbackQueryIdOf = (messageId: string): string | undefined => /^telegram:-?\d+:cb:(.+)$/.exec(messageId)?.[1];

/** `telegram:<chat>:<message>`: deterministic, so a retried update maps to the same id. */
const telegramMessageId = (chatId: number | string, messageId: number | string) => `telegram:${chatId}:${messageId}`;
const telegramConversationId = (chatId: number | string) => `telegram:${chatId}`;

/** The group settings when none are configured: only what addresses the bot, without knowing its name. */
const DEFAULTS: Pick<TelegramConfig, 'botUsername' | 'groupMode'> = { botUsername: undefined, groupMode: 'addressed' };

/**
 * Maps a Telegram update to the normalized message, or says why it is ignored (answered 200
 * and dropped, so Telegram does not retry it): messages, edits, channel posts and button
 * presses are handled; group messages only when addressed to the bot (see addressed.ts).
 */
export function normalizeTelegramUpdate(update: TelegramUpdate, config: Pick<TelegramConfig, 'botUsername' | 'groupMode'> = DEFAULTS): Normalized {
  if (update.callback_query) return fromCallbackQuery(update.callback_query);
  const tg = update.message ?? update.channel_post ?? update.edited_message;
  if (!tg) return { kind: 'ignored', reason: 'unhandled_update_type' };
  if (!isAddressedToBot(tg, config)) return { kind: 'ignored', reason: 'not_addressed_to_bot' };
  const sender = senderOf(tg.from, tg.sender_chat ?? (tg.from ? undefined : tg.chat));
  if (!sender) return { kind: 'ignored', reason: 'placeholder_sender' };
  const message = fromMessage(tg, sender);
  if (message.content.text.trim() === '' && message.content.attachments.length === 0) return { kind: 'ignored', reason: 'no_content' };
  if (update.edited_message) {
    // An edit is a new input with its own id; it says which message it edits.
    const original = message.message_id;
    return {
      kind: 'message',
      message: {
        ...message,
        message_id: `${original}:edit:${tg.edit_date ?? tg.date}`,
        content: { ...message.content, entities: [...message.content.entities, { type: 'edit', offset: 0, length: 0, value: original }] },
      },
    };
  }
  return { kind: 'message', message };
}

function fromMessage(tg: TelegramMessage, sender: Message['sender']): Message {
  const text = tg.text ?? tg.caption ?? '';
  return {
    message_id: telegramMessageId(tg.chat.id, tg.message_id),
    platform: 'telegram',
    conversation: { id: telegramConversationId(tg.chat.id), type: tg.chat.type === 'supergroup' ? 'group' : tg.chat.type },
    sender,
    content: { text, attachments: attachmentsOf(tg), entities: (tg.entities ?? tg.caption_entities ?? []).map(toEntity(text)) },
    reply_to: tg.reply_to_message ? telegramMessageId(tg.chat.id, tg.reply_to_message.message_id) : null,
    timestamp: tg.date,
  };
}

/** A button press: the button's data as text, answering the message the keyboard was under. */
function fromCallbackQuery(cq: TelegramCallbackQuery): Normalized {
  if (!cq.message) return { kind: 'ignored', reason: 'callback_without_chat' };
  // Button presses always come from a real user: anonymous admins cannot press buttons.
  const sender = senderOf(cq.from, undefined);
  if (!sender) return { kind: 'ignored', reason: 'placeholder_sender' };
  const data = cq.data ?? '';
  return {
    kind: 'message',
    message: {
      message_id: `telegram:${cq.message.chat.id}:cb:${cq.id}`,
      platform: 'telegram',
      conversation: {
        id: telegramConversationId(cq.message.chat.id),
        type: cq.message.chat.type === 'supergroup' ? 'group' : cq.message.chat.type,
      },
      sender,
      content: { text: data, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value: data }] },
      reply_to: telegramMessageId(cq.message.chat.id, cq.message.message_id),
      timestamp: cq.message.date,
    },
  };
}

/**
 * Who speaks. A chat that speaks for itself (`sender_chat`: an anonymous admin posting as the
 * group, a post on behalf of a channel, a linked channel's forward; or a channel post, which has
 * no `from`) is the sender, as `telegram:<chat id>` (negative, never a user's). Otherwise the user,
 * unless it is one of Telegram's placeholders, which many people share: undefined then.
 */
function senderOf(from: TelegramUser | undefined, speakingChat: { id: number; title?: string | undefined } | undefined): Message['sender'] | undefined {
  if (speakingChat) return { id: `telegram:${speakingChat.id}`, ...(speakingChat.title ? { name: speakingChat.title } : {}) };
  if (!from || TELEGRAM_PLACEHOLDER_SENDERS.includes(`telegram:${from.id}`)) return undefined;
  const name = [from.first_name, from.last_name].filter(Boolean).join(' ');
  return { id: `telegram:${from.id}`, ...(name ? { name } : {}) };
}

// Telegram offsets count UTF-16 code units, as JavaScript strings do, so slicing is exact.
const toEntity =
  (text: string) =>
  (e: { type: string; offset: number; length: number; url?: string | undefined }): Entity => ({
    type: e.type,
    offset: e.offset,
    length: e.length,
    value: e.url ?? text.slice(e.offset, e.offset + e.length),
  });
