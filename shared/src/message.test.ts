import { describe, expect, it } from 'vitest';
import { MessageSchema, platformOf, replyKeyFor } from './message.js';

const seed = {
  message_id: 'telegram:123456:789',
  platform: 'telegram',
  conversation: { id: 'telegram:123456', type: 'private' },
  sender: { id: 'telegram:42', name: 'Ada' },
  content: { text: 'hi', attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1625097600,
};

describe('Message', () => {
  it("accepts the seed's example field for field", () => {
    expect(MessageSchema.parse(seed)).toEqual(seed);
  });

  it('rejects a message without a conversation', () => {
    const { conversation: _c, ...rest } = seed;
    expect(MessageSchema.safeParse(rest).success).toBe(false);
  });

  it('derives a stable reply key and the platform of a conversation', () => {
    expect(replyKeyFor(seed.message_id)).toBe(replyKeyFor('telegram:123456:789'));
    expect(platformOf('telegram:123456')).toBe('telegram');
    expect(platformOf('irc:1')).toBeUndefined();
  });
});
