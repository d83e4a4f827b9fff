import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { readTelegramUpdate } from '../platforms/telegram/read-update.js';
import { sendTelegramMessage } from '../platforms/telegram/send.js';

/**
 * `POST /diagnostics/direct/telegram` (only with HEARTH_DIAGNOSTICS=on): the benchmark's
 * baseline. The same worker, the same checks and normalization as the webhook, then the reply
 * (the message's own text, as the echo engine would) sent straight back: no Relay, no tunnel,
 * no core. What the real path costs beyond this is the price of durability and of the home.
 */
export async function directReply(c: Context<AppEnv>): Promise<Response> {
  const normalized = await readTelegramUpdate(c);
  if (normalized.kind === 'ignored') return c.json({ ok: true, ignored: normalized.reason });
  const { message } = normalized;
  const outcome = await sendTelegramMessage(c.get('config').telegram, {
    conversationId: message.conversation.id,
    inReplyTo: message.message_id,
    text: message.content.text,
  });
  if (!outcome.ok) throw new HTTPException(502, { message: `sendMessage failed: ${outcome.description}` });
  return c.json({ ok: true });
}
