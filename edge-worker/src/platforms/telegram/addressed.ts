import type { TelegramConfig } from '@hearth/shared';
import type { TelegramMessage } from './schema.js';

/**
 * Whether a group or channel message is for the bot: a command (`/ask`, or `/ask@thisbot` but
 * not `/ask@otherbot`) at the start, an @-mention of the bot, or a reply to the bot. Private
 * chats always are; `TELEGRAM_GROUP_MODE=all` makes every group message count.
 *
 * Without `TELEGRAM_BOT_USERNAME` the bot cannot recognise its own name: commands without an
 * @suffix and replies to any bot still count.
 */
export function isAddressedToBot(tg: TelegramMessage, config: Pick<TelegramConfig, 'botUsername' | 'groupMode'>): boolean {
  if (tg.chat.type === 'private' || config.groupMode === 'all') return true;
  const text = tg.text ?? tg.caption ?? '';
  const entities = tg.entities ?? tg.caption_entities ?? [];
  const me = config.botUsername?.toLowerCase();
  for (const e of entities) {
    const span = text.slice(e.offset, e.offset + e.length);
    if (e.type === 'bot_command' && e.offset === 0) {
      const target = span.split('@')[1]?.toLowerCase();
      if (target === undefined || target === me) return true;
    }
    if (e.type === 'mention' && me !== undefined && span.slice(1).toLowerCase() === me) return true;
  }
  const repliedTo = tg.reply_to_message?.from;
  if (repliedTo?.is_bot) return me === undefined || repliedTo.username?.toLowerCase() === me;
  return false;
}
