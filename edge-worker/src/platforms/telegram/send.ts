import { z } from 'zod';
import type { ReplyButtons, TelegramConfig } from '@hearth/shared';
import type { OutboundPart, OutboundReply, Pacing, SendOutcome } from '../outbound.js';
import { messageParts } from '../split-text.js';

const BotApiResponse = z.object({
  ok: z.boolean(),
  description: z.string().optional(),
  parameters: z.object({ retry_after: z.number().optional() }).optional(),
});

/** The chat and message ids inside our Telegram ids (`telegram:<chat>` / `telegram:<chat>:<msg>`). */
function telegramIds(reply: OutboundReply): { chatId: string; replyToMessageId?: number } {
  const chatId = reply.conversationId.slice('telegram:'.length);
  const replyTo = reply.inReplyTo?.split(':')[2];
  return { chatId, ...(replyTo ? { replyToMessageId: Number(replyTo) } : {}) };
}

/** Answers a button press so the user's client stops showing a spinner (no text shown). */
export async function answerCallbackQuery(config: TelegramConfig, callbackQueryId: string): Promise<void> {
  const response = await fetch(`${config.apiBase}/bot${config.botToken}/answerCallbackQuery`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ callback_query_id: callbackQueryId }),
  });
  if (!response.ok) throw new Error(`answerCallbackQuery answered ${response.status}`);
}

/** "typing…" in the chat, for about 5 seconds or until a message arrives from the bot. */
export async function sendTyping(config: TelegramConfig, conversationId: string): Promise<void> {
  const response = await fetch(`${config.apiBase}/bot${config.botToken}/sendChatAction`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ chat_id: conversationId.slice('telegram:'.length), action: 'typing' }),
  });
  if (!response.ok) throw new Error(`sendChatAction answered ${response.status}`);
}

/** Telegram's longest message text. */
const TELEGRAM_TEXT_MAX = 4096;

/** A reply over 4,096 characters goes as several messages cut at paragraph, line or sentence boundaries. */
export const telegramParts = (reply: OutboundReply): string[] => messageParts(reply.text, TELEGRAM_TEXT_MAX);

/** Our buttons as an inline keyboard: pressing one sends a callback_query with its data. */
function inlineKeyboard(buttons: ReplyButtons) {
  return { inline_keyboard: buttons.map((row) => row.map((button) => ({ text: button.label, callback_data: button.data }))) };
}

/**
 * Sends one part of a reply with the Bot API's `sendMessage`: the first threaded under the
 * message it answers, the last with the reply's inline keyboard. Plain text (no `parse_mode`):
 * model output can never break the formatting.
 */
export function sendTelegramPart(config: TelegramConfig, reply: OutboundReply, part: OutboundPart): Promise<SendOutcome> {
  const { chatId, replyToMessageId } = telegramIds(reply);
  const threaded = part.index === 0 && replyToMessageId !== undefined;
  const last = part.index === part.count - 1;
  return callSendMessage(config, {
    chat_id: chatId,
    text: part.text,
    ...(threaded ? { reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true } } : {}),
    ...(last && reply.buttons ? { reply_markup: inlineKeyboard(reply.buttons) } : {}),
  });
}

/**
 * The Bot API's limits: about one message a second per chat, 20 a minute in a group (group
 * and channel ids are negative), 30 a second in all.
 */
export function telegramPacing(config: TelegramConfig, conversationId: string): Pacing {
  const group = conversationId.startsWith('telegram:-');
  const { chatIntervalMs, groupIntervalMs, maxPerSecond } = config.pacing;
  return { intervalMs: group ? groupIntervalMs : chatIntervalMs, maxPerSecond };
}

async function callSendMessage(config: TelegramConfig, body: Record<string, unknown>): Promise<SendOutcome> {
  let response: Response;
  try {
    response = await fetch(`${config.apiBase}/bot${config.botToken}/sendMessage`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    return { ok: false, retryable: true, status: 0, description: `network: ${String(error)}` };
  }
  const parsed = BotApiResponse.safeParse(await response.json().catch(() => null));
  if (response.ok && parsed.success && parsed.data.ok) return { ok: true };
  const retryAfter = parsed.success ? parsed.data.parameters?.retry_after : undefined;
  return {
    ok: false,
    retryable: response.status === 429 || response.status >= 500,
    status: response.status,
    description: (parsed.success && parsed.data.description) || response.statusText,
    ...(retryAfter !== undefined ? { retryAfterMs: retryAfter * 1000 } : {}),
  };
}
