import { PressRequestSchema, parseApprovalButton, type PressRequest } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import { queueButtonPress } from './button-press.js';
import { idempotencyKeyOf } from './relay-request.js';

export { PressRequestSchema };

/**
 * Without a client id, one press per button (a retried POST is the same press), named by a
 * digest of its data: the question's id stays out of message ids and the logs that carry them.
 */
async function buttonDigest(data: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...digest.slice(0, 12))).replaceAll('+', '-').replaceAll('/', '_');
}

/**
 * `POST /v1/press` (chat:write): an API client presses a button it was shown (`buttons` of a
 * message in its history or streams), `{"conversation_id": "...", "data": "ap:r:..."}`: the
 * owner's Run or Skip of a tool call. Queued in the conversation's press lane as a Telegram or
 * WhatsApp press is; the core counts it only from the owner, in the conversation that asked,
 * once. The conversation is always the token's user's own (another user's id cannot be named).
 * A retry with the same `client_id` (or `Idempotency-Key`; by default the button itself) is
 * queued once. 202 once queued.
 */
export async function postPress(c: Context<AppEnv>, body: PressRequest): Promise<Response> {
  const { user } = c.get('client');
  const clientId = body.client_id ?? idempotencyKeyOf(c);
  const approval = parseApprovalButton(body.data);
  const { message, duplicate } = await queueButtonPress(c, {
    conversation: body.conversation_id,
    data: body.data,
    clientId: `press.${clientId ?? `${approval?.decision ?? 'button'}.${await buttonDigest(body.data)}`}`,
    press: approval !== undefined,
  });
  log('info', 'api_press_accepted', { user, message_id: message.message_id, decision: approval?.decision, duplicate });
  return c.json({ id: message.message_id, conversation_id: body.conversation_id, duplicate }, 202);
}
