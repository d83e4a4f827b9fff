import { seal } from '@hearth/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppEnv } from '../../app-env.js';
import { log } from '../../log.js';
import { relayFor } from '../../relay/stub.js';
import { normalizeTelegramUpdate } from './normalize.js';
import { TelegramUpdateSchema } from './schema.js';

const SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

/**
 * `POST /webhooks/telegram`. Answers 200 only once the message is committed in the Relay:
 * a 200 tells Telegram to forget the update, so anything earlier could lose it.
 */
export async function telegramWebhook(c: Context<AppEnv>): Promise<Response> {
  const config = c.get('config');
  const secret = c.req.header(SECRET_HEADER) ?? '';
  if (!(await timingSafeEqual(secret, config.telegram.webhookSecret))) {
    throw new HTTPException(401, { message: `missing or wrong ${SECRET_HEADER}` });
  }

  let json: unknown;
  try {
    json = JSON.parse(await c.req.text());
  } catch (cause) {
    throw new HTTPException(400, { message: 'body is not JSON', cause });
  }
  const update = TelegramUpdateSchema.safeParse(json);
  if (!update.success) {
    throw new HTTPException(400, { message: `body is not a Telegram Update: ${update.error.issues[0]?.message}` });
  }

  const normalized = normalizeTelegramUpdate(update.data);
  if (normalized.kind === 'ignored') {
    log('info', 'webhook_ignored', { platform: 'telegram', update_id: update.data.update_id, reason: normalized.reason });
    return c.json({ ok: true, ignored: normalized.reason });
  }

  const { message } = normalized;
  const sealed = await seal(JSON.stringify(message), config.coreKeys);
  const { outcome } = await relayFor(c.env).enqueue({
    message_id: message.message_id,
    conversation_id: message.conversation.id,
    sealed,
  });
  // Full: 503 + Retry-After, so Telegram keeps the update and tries again later.
  if (outcome === 'full') throw new HTTPException(503, { message: 'queue is full, retry later' });
  const duplicate = outcome === 'duplicate';
  log('info', 'webhook_accepted', { platform: 'telegram', message_id: message.message_id, duplicate });
  return c.json({ ok: true, duplicate });
}
