import { seal } from '@hearth/shared';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../../app-env.js';
import { log } from '../../log.js';
import { relayFor } from '../../relay/stub.js';
import { readTelegramUpdate } from './read-update.js';

/**
 * `POST /webhooks/telegram`. Answers 200 only once the message is committed in the Relay:
 * a 200 tells Telegram to forget the update, so anything earlier could lose it.
 */
export async function telegramWebhook(c: Context<AppEnv>): Promise<Response> {
  const normalized = await readTelegramUpdate(c);
  if (normalized.kind === 'ignored') return c.json({ ok: true, ignored: normalized.reason });

  const { message } = normalized;
  const sealed = await seal(JSON.stringify(message), c.get('config').coreKeys);
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
