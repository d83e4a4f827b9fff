import { HistoryItemSchema, ConversationSummarySchema, decodeCursor, encodeCursor } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { HistoryQueryError } from '../../src/memory/api-history.js';
import { openDatabase } from '../../src/memory/database.js';
import { HistoryStore, type Turn } from '../../src/memory/history-store.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

function store(): HistoryStore {
  const db = openDatabase(':memory:');
  cleanups.push(() => db.close());
  return new HistoryStore(db);
}

/** A user turn and its reply in `api:<user>:<conversation>`, at `at` and `at + 1`. */
function exchange(user: string, conversation: string, n: number, at: number, text = `question ${n}`): Turn[] {
  const conversationId = `api:${user}:${conversation}`;
  const messageId = `api:${user}:${conversation}:m${n}`;
  return [
    { messageId, conversationId, role: 'user', senderId: `api:${user}`, text, createdAt: at, inReplyTo: null },
    { messageId: `reply:${messageId}`, conversationId, role: 'assistant', senderId: 'hearth', text: `answer ${n}`, createdAt: at + 1, inReplyTo: messageId },
  ];
}

const ids = (items: { message_id: string }[]) => items.map((item) => item.message_id);

describe('ApiHistory (API clients on real SQLite)', () => {
  it('pages one conversation oldest first, strictly after the cursor, with has_more', () => {
    const history = store();
    for (let n = 1; n <= 3; n++) history.append(exchange('ada', 'phone', n, 1_000 * n), 0);
    history.append(exchange('ada', 'laptop', 9, 1_500), 0);

    const first = history.api.messages('ada', 'phone', null, 4);
    expect(ids(first.items)).toEqual(['api:ada:phone:m1', 'reply:api:ada:phone:m1', 'api:ada:phone:m2', 'reply:api:ada:phone:m2']);
    expect(first.has_more).toBe(true);
    for (const item of first.items) expect(HistoryItemSchema.parse(item)).toEqual(item);
    expect(first.items[1]).toEqual({
      cursor: encodeCursor({ at: 1_001, id: 'reply:api:ada:phone:m1' }),
      message_id: 'reply:api:ada:phone:m1',
      conversation_id: 'phone',
      role: 'assistant',
      text: 'answer 1',
      created_at: 1_001,
      in_reply_to: 'api:ada:phone:m1',
    });

    const rest = history.api.messages('ada', 'phone', first.items.at(-1)?.cursor ?? null, 4);
    expect(ids(rest.items)).toEqual(['api:ada:phone:m3', 'reply:api:ada:phone:m3']);
    expect(rest.has_more).toBe(false);
    expect(history.api.messages('ada', 'phone', rest.items.at(-1)?.cursor ?? null, 4)).toEqual({ items: [], has_more: false });
  });

  it('orders turns of the same millisecond by message id, so a cursor between them loses none', () => {
    const history = store();
    const at = 5_000;
    const turn = (id: string): Turn => ({ messageId: id, conversationId: 'api:ada:c', role: 'user', senderId: 'api:ada', text: id, createdAt: at, inReplyTo: null });
    // Stored out of order: the order is the key's, not the insertion's.
    history.append([turn('api:ada:c:b'), turn('api:ada:c:c'), turn('api:ada:c:a')], 0);
    const page = history.api.messages('ada', 'c', null, 1);
    expect(ids(page.items)).toEqual(['api:ada:c:a']);
    const cursor = page.items[0]?.cursor ?? null;
    expect(decodeCursor(cursor ?? '')).toEqual({ at, id: 'api:ada:c:a' });
    expect(ids(history.api.messages('ada', 'c', cursor, 10).items)).toEqual(['api:ada:c:b', 'api:ada:c:c']);
  });

  it("catches a device up across the user's conversations only, never another user's or a completion", () => {
    const history = store();
    history.append(exchange('ada', 'phone', 1, 100), 0);
    history.append(exchange('ada', 'laptop', 2, 200), 0);
    history.append(exchange('ada', 'completion.8c1f', 3, 150), 0);
    history.append(exchange('ada_b', 'phone', 4, 120), 0); // `_` would match anything in a LIKE
    history.append(exchange('adam', 'phone', 5, 130), 0);
    history.append([{ ...exchange('ada', 'x', 6, 140)[0]!, conversationId: 'telegram:ada' }], 0);

    const all = history.api.since('ada', null, 10);
    expect(ids(all.items)).toEqual(['api:ada:phone:m1', 'reply:api:ada:phone:m1', 'api:ada:laptop:m2', 'reply:api:ada:laptop:m2']);
    expect(all.items.map((item) => item.conversation_id)).toEqual(['phone', 'phone', 'laptop', 'laptop']);
    const after = history.api.since('ada', all.items[1]?.cursor ?? null, 1);
    expect(ids(after.items)).toEqual(['api:ada:laptop:m2']);
    expect(after.has_more).toBe(true);
    expect(history.api.messages('ada', 'completion.8c1f', null, 10)).toEqual({ items: [], has_more: false });
  });

  it('shows only the generation the conversation is at: reset turns, and late writes of an older one, are hidden', () => {
    const history = store();
    history.append(exchange('ada', 'phone', 1, 100), 0);
    history.forget('api:ada:phone', 1);
    history.append(exchange('ada', 'phone', 2, 200), 1);
    // Another core, not yet aware of the reset, writes a turn of generation 0.
    history.append(exchange('ada', 'phone', 3, 300), 0);
    expect(ids(history.api.messages('ada', 'phone', null, 10).items)).toEqual(['api:ada:phone:m2', 'reply:api:ada:phone:m2']);
    expect(ids(history.api.since('ada', null, 10).items)).toEqual(['api:ada:phone:m2', 'reply:api:ada:phone:m2']);
    expect(history.api.conversations('ada', 10)).toMatchObject([{ conversation_id: 'phone', turns: 2, updated_at: 201 }]);
  });

  it('lists conversations most recently active first, with title, preview, turns and updated_at', () => {
    const history = store();
    const long = `${'word '.repeat(40)}end`;
    history.append(exchange('ada', 'old', 1, 100, long), 0);
    history.append(exchange('ada', 'new', 2, 500, 'hello\nthere'), 0);
    history.append(exchange('ada', 'new', 3, 600), 0);
    history.append(exchange('ada', 'completion.x', 4, 900), 0);
    history.append(exchange('bob', 'other', 5, 999), 0);

    const list = history.api.conversations('ada', 10);
    for (const summary of list) expect(ConversationSummarySchema.parse(summary)).toEqual(summary);
    expect(list).toEqual([
      { conversation_id: 'new', title: 'hello there', preview: 'answer 3', turns: 4, updated_at: 601 },
      { conversation_id: 'old', title: `${long.slice(0, 79)}…`, preview: 'answer 1', turns: 2, updated_at: 101 },
    ]);
    expect([...(list[1]?.title ?? '')].length).toBeLessThanOrEqual(81);
    expect(history.api.conversations('ada', 1).map((c) => c.conversation_id)).toEqual(['new']);
    expect(history.api.conversations('nobody', 10)).toEqual([]);
  });

  it('refuses a user id with a colon, a bad conversation id and a cursor that is not ours', () => {
    const history = store();
    expect(() => history.api.since('ada:phone', null, 10)).toThrow(HistoryQueryError);
    expect(() => history.api.messages('ada', 'a:b', null, 10)).toThrow(/conversation id/);
    expect(() => history.api.since('ada', 'not a cursor!', 10)).toThrow(/cursor/);
  });
});
