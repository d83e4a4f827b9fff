import { feedbackButtonData, feedbackOf, replyKeyFor, type Message, type ReplyButtons } from '@hearth/shared';
import type { Logger } from '../logger.js';
import type { LearningStore } from './store.js';

/** What the pipeline asks of feedback (see pipeline.ts: `learning`). */
export interface PipelineLearning {
  /**
   * Records the rating a message carries (a pressed 👍/👎, an API client's rating); true when
   * the message was one, and is then acked with no reply and without the model.
   */
  takeFeedback(message: Message): boolean;
  /**
   * The reply to `message` is about to be acked, `ms` after its delivery came: its latency is
   * kept, and the buttons to put under it are returned (model replies on Telegram, WhatsApp, Slack and Discord).
   */
  replied(message: Message, ms: number): ReplyButtons | undefined;
}

/** Platforms whose replies carry 👍/👎 buttons (API clients rate with POST /v1/feedback). */
const WITH_BUTTONS = new Set(['telegram', 'whatsapp', 'slack', 'discord']);

/** The 👍/👎 row under a reply whose short id is `shortId`: `fb:u:<id>` is 21 bytes, well under 64. */
function feedbackButtons(shortId: string): ReplyButtons {
  return [
    [
      { label: '👍', data: feedbackButtonData('up', shortId) },
      { label: '👎', data: feedbackButtonData('down', shortId) },
    ],
  ];
}

/**
 * Feedback on the model's replies: buttons under them, and the presses recorded with the reply
 * they rate (identified by the short id in the button, which maps to the reply key on disk).
 * The one who rates is the press's sender, kept as is (home data). A press is accepted only
 * in the conversation of the reply it rates, so a forged button cannot rate someone else's.
 *
 * @example
 * const desk = new FeedbackDesk(store, log);
 * new Pipeline({ ..., learning: desk });
 */
export class FeedbackDesk implements PipelineLearning {
  constructor(
    private readonly store: LearningStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  takeFeedback(message: Message): boolean {
    const feedback = feedbackOf(message);
    if (!feedback) return false;
    const reply = this.store.byRef(feedback.ref);
    const log = this.log.child({ messageId: message.message_id });
    if (!reply || reply.conversationId !== message.conversation.id) {
      log.warn({ conversationId: message.conversation.id, known: reply !== undefined }, 'feedback for a reply not in this conversation (or forgotten); ignored');
      return true;
    }
    this.store.history.recordFeedback({ messageId: reply.replyKey, userId: message.sender.id, rating: feedback.rating, createdAt: this.now() });
    log.info({ replyKey: reply.replyKey, variant: reply.variant, rating: feedback.rating }, 'feedback recorded');
    return true;
  }

  replied(message: Message, ms: number): ReplyButtons | undefined {
    const replyKey = replyKeyFor(message.message_id);
    const reply = this.store.reply(replyKey);
    if (!reply) return undefined;
    this.store.setLatency(replyKey, ms);
    return WITH_BUTTONS.has(message.platform) && reply.kind === 'chat' ? feedbackButtons(reply.shortId) : undefined;
  }
}
