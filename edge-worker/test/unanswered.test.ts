import { encodeCursor, type HistoryItem } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { UnansweredMessages } from '../src/relay/unanswered.js';

const item = (at: number, conversation = 'c', id = `api:ada:${conversation}:${at}`): HistoryItem => ({
  cursor: encodeCursor({ at, id }),
  message_id: id,
  conversation_id: conversation,
  role: 'user',
  text: `at ${at}`,
  created_at: at,
  in_reply_to: null,
});
const ids = (items: HistoryItem[]) => items.map((i) => i.created_at);

describe('UnansweredMessages', () => {
  it('merges what the core lacks into its page, in history order, after the cursor only', () => {
    const unanswered = new UnansweredMessages();
    for (const at of [5, 15, 25]) unanswered.add('ada', item(at));
    unanswered.add('bob', item(16, 'c', 'api:bob:c:16'));
    const page = unanswered.complete('ada', { after: item(10).cursor, limit: 50 }, { items: [item(12), item(20)], has_more: false });
    expect(ids(page.items)).toEqual([12, 15, 20, 25]);
    expect(page.has_more).toBe(false);
    // One conversation's page holds only that conversation's.
    unanswered.add('ada', item(30, 'other'));
    expect(ids(unanswered.complete('ada', { after: null, conversation: 'other', limit: 50 }, { items: [], has_more: false }).items)).toEqual([30]);
  });

  it('keeps a page within its limit, and leaves what lies beyond a page that has more to the next', () => {
    const unanswered = new UnansweredMessages();
    for (const at of [3, 7, 40]) unanswered.add('ada', item(at));
    const first = unanswered.complete('ada', { after: null, limit: 3 }, { items: [item(2), item(4), item(6)], has_more: true });
    // 40 lies past the page's end (6): the page after it gets it; 7 too, past the limit.
    expect(ids(first.items)).toEqual([2, 3, 4]);
    expect(first.has_more).toBe(true);
    const next = unanswered.complete('ada', { after: item(4).cursor, limit: 3 }, { items: [item(6)], has_more: false });
    expect(ids(next.items)).toEqual([6, 7, 40]);
  });

  it('forgets a message once it is answered or the core\'s history has it, and stays within its capacity', () => {
    const unanswered = new UnansweredMessages({ messages: 3, chars: 1_000 });
    for (const at of [1, 2, 3, 4]) unanswered.add('ada', item(at));
    expect(unanswered.size).toBe(3);
    unanswered.answered(item(2).message_id);
    unanswered.complete('ada', { after: null, limit: 50 }, { items: [item(3)], has_more: false });
    expect(ids(unanswered.complete('ada', { after: null, limit: 50 }, { items: [], has_more: false }).items)).toEqual([4]);
  });

  it('keeps at most its capacity of text, the newest first', () => {
    const unanswered = new UnansweredMessages({ messages: 100, chars: 25 });
    // 'at 10' .. 'at 15': 5 characters each; five fit in 25.
    for (const at of [10, 11, 12, 13, 14, 15]) unanswered.add('ada', item(at));
    expect(ids(unanswered.complete('ada', { after: null, limit: 50 }, { items: [], has_more: false }).items)).toEqual([11, 12, 13, 14, 15]);
    unanswered.answered(item(11).message_id);
    unanswered.add('ada', item(16));
    expect(unanswered.size).toBe(5);
  });
});
