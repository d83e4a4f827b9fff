import type { Entity, Message, TelegramConfig } from '@hearth/shared';
import type { TelegramMessage, TelegramUpdate } from './schema.js';

export type Normalized = { kind: 'message'; message: Message } | { kind: 'ignored'; reason: string };

/** `telegram:<chat>:<message>`: deterministic, so a retried update maps to the same id. */
export const telegramMessageId = (chatId: number | string, messageId: number | string) =>
  `telegram:${chatId}:${messageId}`;
export const telegramConversationId = (chatId: number | string) => `telegram:${chatId}`;

/**
 * Maps a Telegram update to the normalized message, or says why it is ignored (update types
 * and contents not handled yet are answered 200 and dropped so Telegram does not retry them).
 */
export function normalizeTelegramUpdate(update: TelegramUpdate, _config?: TelegramConfig): Normalized {
  const tg = update.message;
  if (!tg) return { kind: 'ignored', reason: 'unhandled_update_type' };
  const text = tg.text ?? tg.caption;
  if (text === undefined || text.trim() === '') return { kind: 'ignored', reason: 'no_text' };
  return { kind: 'message', message: toMessage(tg, text) };
}

function toMessage(tg: TelegramMessage, text: string): Message {
  const name = tg.from ? [tg.from.first_name, tg.from.last_name].filter(Boolean).join(' ') : tg.chat.title;
  return {
    message_id: telegramMessageId(tg.chat.id, tg.message_id),
    platform: 'telegram',
    conversation: {
      id: telegramConversationId(tg.chat.id),
      type: tg.chat.type === 'supergroup' ? 'group' : tg.chat.type,
    },
    // Channel posts have no `from`; the channel itself speaks.
    sender: { id: `telegram:${tg.from?.id ?? tg.chat.id}`, ...(name ? { name } : {}) },
    content: { text, attachments: [], entities: (tg.entities ?? tg.caption_entities ?? []).map(toEntity(text)) },
    reply_to: tg.reply_to_message ? telegramMessageId(tg.chat.id, tg.reply_to_message.message_id) : null,
    timestamp: tg.date,
  };
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
