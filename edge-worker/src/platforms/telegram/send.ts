import { z } from 'zod';
import type { TelegramConfig } from '@hearth/shared';
import type { OutboundReply, SendOutcome } from '../outbound.js';

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

/**
 * Sends a reply with the Bot API's `sendMessage`, threaded under the message it answers.
 * Plain text (no `parse_mode`): model output can never break the formatting.
 */
export async function sendTelegramMessage(config: TelegramConfig, reply: OutboundReply): Promise<SendOutcome> {
  const { chatId, replyToMessageId } = telegramIds(reply);
  const body = {
    chat_id: chatId,
    text: reply.text,
    ...(replyToMessageId
      ? { reply_parameters: { message_id: replyToMessageId, allow_sending_without_reply: true } }
      : {}),
  };
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
