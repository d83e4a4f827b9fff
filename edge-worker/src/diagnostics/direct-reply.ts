import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { AppEnv } from '../app-env.js';
import { sendAllParts } from '../platforms/registry.js';
import { readWebhook } from '../platforms/webhook.js';

/**
 * `POST /diagnostics/direct/:platform` (only with HEARTH_DIAGNOSTICS=on): the benchmark's
 * baseline. The same worker, the same verification and normalization as the webhook, then the
 * reply (the message's own text, as the echo engine would) sent straight back: no Relay, no
 * tunnel, no core. What the real path costs beyond this is the price of durability and of home.
 */
export async function directReply(c: Context<AppEnv>): Promise<Response> {
  const { adapter, batch } = await readWebhook(c);
  for (const message of batch.messages) {
    const reply = { conversationId: message.conversation.id, inReplyTo: message.message_id, text: message.content.text };
    const outcome = await sendAllParts(adapter, reply, c.get('config'));
    if (!outcome.ok) throw new HTTPException(502, { message: `send failed: ${outcome.description}` });
  }
  return c.json({ ok: true });
}
