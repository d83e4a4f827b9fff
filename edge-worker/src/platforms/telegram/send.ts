import { z } from 'zod';
import type { TelegramConfig } from '@hearth/shared';
import type { OutboundReply, SendOutcome } from '../outbound.js';
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
export const TELEGRAM_TEXT_MAX = 4096;

/**
 * Sends a reply with the Bot API's `sendMessage`, threaded under the message it answers. Plain
 * text (no `parse_mode`): model output can never break the formatting. A reply longer than
 * 4,096 characters goes as several messages cut at paragraph, line or sentence boundaries,
 * only the first threaded. If a later part fails, the outcome is that failure and the outbox
 * retries the whole reply: the user may then see the earlier parts twice.
 */
export async function sendTelegramMessage(config: TelegramConfig, reply: OutboundReply): Promise<SendOutcome> {
  const { chatId, replyToMessageId } = telegramIds(reply);
  const parts = messageParts(reply.text, TELEGRAM_TEXT_MAX);
  for (const [index, text] of parts.entries()) {
    const threaded = index === 0 && replyToMessageId !== undefined;
    const outcome = await callSendMessage(config, {
      chat_id: chatId,
      text,
      ...(threaded ? { reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true } } : {}),
    });
    if (!outcome.ok) return outcome;
  }
  return { ok: true };
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
