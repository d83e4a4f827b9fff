import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { timingSafeEqual } from 'hono/utils/buffer';
import type { AppEnv } from '../../app-env.js';
import { log } from '../../log.js';
import { type Normalized, normalizeTelegramUpdate } from './normalize.js';
import { TelegramUpdateSchema } from './schema.js';

const SECRET_HEADER = 'X-Telegram-Bot-Api-Secret-Token';

/**
 * The front half of every Telegram webhook: the secret, compared in constant time (401), the
 * body parsed (400) and validated as an Update (400), then normalized. Ignored updates are
 * logged here.
 */
export async function readTelegramUpdate(c: Context<AppEnv>): Promise<Normalized> {
  const secret = c.req.header(SECRET_HEADER) ?? '';
  if (!(await timingSafeEqual(secret, c.get('config').telegram.webhookSecret))) {
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
  }
  return normalized;
}
