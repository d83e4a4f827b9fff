import { z } from 'zod';
import type { Message } from './message.js';

/**
 * Feedback on replies: 👍/👎 buttons the core puts under the model's replies, and
 * `POST /v1/feedback` for API clients. Both arrive at the core as a message carrying a `button`
 * entity whose data is `fb:<u|d>:<ref>`: `ref` is the reply's short id (buttons: Telegram's
 * `callback_data` is at most 64 bytes, so the reply key itself may not fit) or, from the API,
 * the reply's id as clients see it (`reply:api:...`). The core records the rating with the
 * reply it rates, and answers nothing.
 */
export const RatingSchema = z.enum(['up', 'down']);
export type Rating = z.infer<typeof RatingSchema>;

const PREFIX = 'fb:';
const CODE: Record<Rating, string> = { up: 'u', down: 'd' };

/** The data of a feedback button: `fb:u:<ref>` or `fb:d:<ref>`. */
export function feedbackButtonData(rating: Rating, ref: string): string {
  return `${PREFIX}${CODE[rating]}:${ref}`;
}

/** The rating and reply reference in a button's data; undefined for any other button. */
export function parseFeedbackButton(data: string): { rating: Rating; ref: string } | undefined {
  const match = /^fb:([ud]):(.{1,300})$/s.exec(data);
  if (!match?.[1] || !match[2]) return undefined;
  return { rating: match[1] === 'u' ? 'up' : 'down', ref: match[2] };
}

/** The feedback a message carries (a pressed 👍/👎, or an API rating), if it is one. */
export function feedbackOf(message: Pick<Message, 'content'>): { rating: Rating; ref: string } | undefined {
  for (const entity of message.content.entities) {
    if (entity.type !== 'button' || entity.value === undefined) continue;
    const parsed = parseFeedbackButton(entity.value);
    if (parsed) return parsed;
  }
  return undefined;
}

/** The body of `POST /v1/feedback`: the reply's id as history and streams give it, and the rating. */
export const FeedbackRequestSchema = z.object({
  message_id: z.string().regex(/^reply:api:[^:]+:[^:]+:.{1,200}$/, 'message_id is the id of a reply in one of your conversations (reply:api:...)'),
  rating: RatingSchema,
  /** The client's id for this rating: a retry with it is recorded once (or the `Idempotency-Key` header). */
  client_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'client_id is 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
});
export type FeedbackRequest = z.infer<typeof FeedbackRequestSchema>;
