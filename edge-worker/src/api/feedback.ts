import { FeedbackRequestSchema, feedbackButtonData, parseApiConversationId, seal, type FeedbackRequest } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import { relayFor } from '../relay/stub.js';
import { composeApiMessage } from './compose.js';
import { ApiError } from './errors.js';

export { FeedbackRequestSchema };

/**
 * `POST /v1/feedback` (chat:write): an API client rates a reply, `{"message_id":
 * "reply:api:...", "rating": "up"|"down"}`. The rating is queued as a message of the reply's
 * conversation carrying a feedback `button` entity, as a 👍/👎 press on Telegram or WhatsApp
 * is, and the core records it with the reply it rates (it answers nothing). A token only rates
 * replies in its own user's conversations; a retry with the same `client_id` (or
 * `Idempotency-Key`) is recorded once. 202 once queued.
 */
export async function postFeedback(c: Context<AppEnv>, body: FeedbackRequest): Promise<Response> {
  const { user } = c.get('client');
  const config = c.get('config');
  const idempotencyKey = c.req.header('Idempotency-Key');
  if (idempotencyKey !== undefined && !/^[A-Za-z0-9._-]{1,64}$/.test(idempotencyKey)) {
    throw new ApiError(400, 'invalid_request', 'Idempotency-Key is 1-64 characters of A-Z a-z 0-9 . _ -');
  }
  // `reply:` + the id of the message it answers, which names its conversation.
  const answered = body.message_id.slice('reply:'.length);
  const conversationId = /^(api:[^:]+:[^:]+):/.exec(answered)?.[1];
  const owner = conversationId ? parseApiConversationId(conversationId) : undefined;
  // Another user's reply is answered as if it did not exist.
  if (!owner || owner.user !== user) throw new ApiError(404, 'not_found', 'no such reply in your conversations');
  const data = feedbackButtonData(body.rating, body.message_id);
  const clientId = body.client_id ?? idempotencyKey;
  const composed = composeApiMessage({ user, conversation: owner.conversation, text: data, clientId: `feedback.${clientId ?? crypto.randomUUID()}`, now: Date.now() });
  const message = { ...composed, content: { ...composed.content, entities: [{ type: 'button', offset: 0, length: 0, value: data }] }, reply_to: body.message_id };
  const sealed = await seal(JSON.stringify(message), config.coreKeys);
  // Not announced to the user's devices: a rating is not a turn of the conversation.
  const { outcome } = await relayFor(c.env).enqueue({ message_id: message.message_id, conversation_id: message.conversation.id, sealed });
  if (outcome === 'full') throw new ApiError(503, 'queue_full', 'the queue is full; retry later', { headers: { 'Retry-After': '30' } });
  log('info', 'api_feedback_accepted', { user, message_id: message.message_id, rating: body.rating, duplicate: outcome === 'duplicate' });
  return c.json({ id: message.message_id, message_id: body.message_id, rating: body.rating, duplicate: outcome === 'duplicate' }, 202);
}
