import { FeedbackRequestSchema, feedbackButtonData, parseApiConversationId, type FeedbackRequest } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import { queueButtonPress } from './button-press.js';
import { ApiError } from './errors.js';
import { idempotencyKeyOf } from './relay-request.js';

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
  const idempotencyKey = idempotencyKeyOf(c);
  // `reply:` + the id of the message it answers, which names its conversation.
  const answered = body.message_id.slice('reply:'.length);
  const conversationId = /^(api:[^:]+:[^:]+):/.exec(answered)?.[1];
  const owner = conversationId ? parseApiConversationId(conversationId) : undefined;
  // Another user's reply is answered as if it did not exist.
  if (!owner || owner.user !== user) throw new ApiError(404, 'not_found', 'no such reply in your conversations');
  const clientId = body.client_id ?? idempotencyKey;
  const { message, duplicate } = await queueButtonPress(c, {
    conversation: owner.conversation,
    data: feedbackButtonData(body.rating, body.message_id),
    clientId: `feedback.${clientId ?? crypto.randomUUID()}`,
    replyTo: body.message_id,
  });
  log('info', 'api_feedback_accepted', { user, message_id: message.message_id, rating: body.rating, duplicate });
  return c.json({ id: message.message_id, message_id: body.message_id, rating: body.rating, duplicate }, 202);
}
