import { HTTPException } from 'hono/http-exception';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { PlatformAdapter } from '../adapter.js';
import { notSetUp } from '../outbound.js';
import { parseJsonBody } from '../json-body.js';
import { callbackQueryIdOf, normalizeTelegramUpdate } from './normalize.js';
import { TelegramUpdateSchema } from './schema.js';
import { answerCallbackQuery, sendTelegramPart, sendTyping, telegramPacing, telegramParts } from './send.js';

const SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

/**
 * Telegram Bot API webhooks: authenticated by the `secret_token` given to `setWebhook`, which
 * Telegram sends back in a header (compared in constant time); one Update per POST.
 */
export const telegramAdapter: PlatformAdapter = {
  platform: 'telegram',

  enabled: (config) => config.telegram !== undefined,

  async verify(request, _rawBody, config) {
    const secret = request.headers.get(SECRET_HEADER) ?? '';
    if (!config.telegram || !(await timingSafeEqual(secret, config.telegram.webhookSecret))) {
      throw new HTTPException(401, { message: `missing or wrong ${SECRET_HEADER}` });
    }
  },

  parse(rawBody, config) {
    const json = parseJsonBody(rawBody);
    const update = TelegramUpdateSchema.safeParse(json);
    if (!update.success) {
      throw new HTTPException(400, { message: `body is not a Telegram Update: ${update.error.issues[0]?.message}` });
    }
    const normalized = normalizeTelegramUpdate(update.data, config.telegram);
    return normalized.kind === 'message'
      ? { messages: [normalized.message], ignored: [], events: [] }
      : { messages: [], ignored: [`update ${update.data.update_id}: ${normalized.reason}`], events: [] };
  },

  async afterStored(message, config) {
    const callbackQueryId = callbackQueryIdOf(message.message_id);
    if (callbackQueryId && config.telegram) await answerCallbackQuery(config.telegram, callbackQueryId);
  },

  async typing(conversationId, _messageId, config) {
    if (config.telegram) await sendTyping(config.telegram, conversationId);
  },

  parts: telegramParts,

  sendPart: (reply, part, config) => (config.telegram ? sendTelegramPart(config.telegram, reply, part) : notSetUp('Telegram')),

  pacing: (conversationId, config) =>
    config.telegram ? telegramPacing(config.telegram, conversationId) : { intervalMs: 0, maxPerSecond: 1 },
};
