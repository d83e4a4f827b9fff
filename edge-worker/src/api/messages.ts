import { ApiConversationSchema, isStopCommand, seal } from '@hearth/shared';
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { describeError, log } from '../log.js';
import { relayFor } from '../relay/stub.js';
import { composeApiMessage, userItemOf } from './compose.js';
import { ApiError } from './errors.js';
import { deviceOf, idempotencyKeyOf } from './relay-request.js';

export const PostMessageSchema = z.object({
  conversation_id: ApiConversationSchema,
  text: z.string().min(1).max(16_384),
  /** The client's id for this message; or the `Idempotency-Key` header. */
  client_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'client_id is 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
});

/**
 * `POST /v1/messages` (chat:write): queues a message from an API client and answers 202 once it
 * is committed, with its id and cursor. The reply comes on the user's live streams (`/v1/events`,
 * `/v1/ws`) and in the history. A retry with the same `client_id` (or `Idempotency-Key`) is the
 * same message, stored and answered once.
 */
export async function postMessage(c: Context<AppEnv>, body: z.infer<typeof PostMessageSchema>): Promise<Response> {
  const { user } = c.get('client');
  const config = c.get('config');
  const idempotencyKey = idempotencyKeyOf(c);
  const device = deviceOf(c);
  const message = composeApiMessage({ user, conversation: body.conversation_id, text: body.text, clientId: body.client_id ?? idempotencyKey, device, now: Date.now() });
  const sealed = await seal(JSON.stringify(message), config.coreKeys);
  const item = userItemOf(message, body.conversation_id);
  const { outcome } = await relayFor(c.env)
    .enqueue({ message_id: message.message_id, conversation_id: message.conversation.id, sealed }, { announce: { user, item }, stops: isStopCommand(message) })
    .catch((cause: unknown) => {
      // Overloaded or unreachable: nothing committed for sure; the client retries with its client_id.
      log('warn', 'relay_unavailable', { user, message_id: message.message_id, error: describeError(cause) });
      throw new ApiError(503, 'queue_unavailable', 'the queue is unavailable; retry later', { headers: { 'Retry-After': '5' }, cause });
    });
  if (outcome === 'full') throw new ApiError(503, 'queue_full', 'the queue is full; retry later', { headers: { 'Retry-After': '30' } });
  log('info', 'api_message_accepted', { user, message_id: message.message_id, duplicate: outcome === 'duplicate' });
  return c.json({ id: message.message_id, conversation_id: body.conversation_id, cursor: item.cursor, duplicate: outcome === 'duplicate' }, 202);
}
