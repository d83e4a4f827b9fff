import { describe, expect, it } from 'vitest';
import { FeedbackRequestSchema, feedbackButtonData, feedbackOf, parseFeedbackButton } from './feedback.js';
import { ReplyButtonSchema } from './reply-buttons.js';

describe('feedback buttons', () => {
  it('round-trips a rating and a short reply id within Telegram’s 64 bytes', () => {
    const data = feedbackButtonData('up', 'Ab3_-x9QzR0pLk2w');
    expect(parseFeedbackButton(data)).toEqual({ rating: 'up', ref: 'Ab3_-x9QzR0pLk2w' });
    expect(ReplyButtonSchema.safeParse({ label: '👍', data }).success).toBe(true);
    expect(parseFeedbackButton(feedbackButtonData('down', 'x'))).toEqual({ rating: 'down', ref: 'x' });
  });

  it('ignores other buttons', () => {
    for (const data of ['yes', 'fb:', 'fb:x:abc', 'fb:u:', 'xfb:u:a']) expect(parseFeedbackButton(data)).toBeUndefined();
  });

  it('finds feedback among a message’s entities', () => {
    const content = { text: 'x', attachments: [], entities: [{ type: 'bot_command', offset: 0, length: 1 }, { type: 'button', offset: 0, length: 0, value: 'fb:d:abc' }] };
    expect(feedbackOf({ content })).toEqual({ rating: 'down', ref: 'abc' });
    expect(feedbackOf({ content: { ...content, entities: [] } })).toBeUndefined();
  });

  it('accepts only reply ids of API conversations in POST /v1/feedback', () => {
    expect(FeedbackRequestSchema.safeParse({ message_id: 'reply:api:ada:c-1:m-1', rating: 'up' }).success).toBe(true);
    expect(FeedbackRequestSchema.safeParse({ message_id: 'reply:telegram:1:2', rating: 'up' }).success).toBe(false);
    expect(FeedbackRequestSchema.safeParse({ message_id: 'reply:api:ada:c-1:m-1', rating: 'meh' }).success).toBe(false);
  });
});
