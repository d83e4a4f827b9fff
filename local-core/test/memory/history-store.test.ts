import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { HistoryStore, type Turn } from '../../src/memory/history-store.js';
import { tempDir } from '../support.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function memoryStore() {
  const db = openDatabase(':memory:');
  cleanups.push(() => {
    db.close();
  });
  return new HistoryStore(db);
}

let clock = 1_700_000_000_000;
const turn = (conversationId: string, n: number, role: Turn['role'] = 'user'): Turn => ({
  messageId: `${conversationId}:${n}`,
  conversationId,
  role,
  senderId: role === 'user' ? 'telegram:42' : 'core',
  text: `${role} says ${n}`,
  createdAt: clock++,
  inReplyTo: role === 'assistant' ? `${conversationId}:${n - 1}` : null,
});

describe('HistoryStore (L3)', () => {
  it('keeps turns, answers, feedback and generations across closing and reopening the file', async () => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const path = join(tmp.dir, 'core.db');
    const first = openDatabase(path);
    const store = new HistoryStore(first);
    store.forget('telegram:1', 2);
    const question = turn('telegram:1', 1);
    const reply = turn('telegram:1', 2, 'assistant');
    store.append([question, reply], 2, { messageId: question.messageId, replyKey: 'reply:telegram:1:1', replyText: reply.text, createdAt: clock });
    store.recordFeedback({ messageId: 'reply:telegram:1:1', userId: 'telegram:42', rating: 'up', createdAt: clock });
    first.close();

    const second = openDatabase(path);
    cleanups.push(() => {
      second.close();
    });
    const reopened = new HistoryStore(second);
    expect(reopened.generation('telegram:1')).toBe(2);
    expect(reopened.recent('telegram:1', 2, 10)).toEqual([question, reply]);
    expect(reopened.answer(question.messageId)).toEqual({ messageId: question.messageId, replyKey: 'reply:telegram:1:1', replyText: reply.text, createdAt: clock });
    expect(reopened.feedbackFor('reply:telegram:1:1')).toEqual([{ messageId: 'reply:telegram:1:1', userId: 'telegram:42', rating: 'up', createdAt: clock }]);
  });

  it('returns the last N turns of a conversation oldest first, and stores a redelivered turn once', () => {
    const store = memoryStore();
    const turns = Array.from({ length: 6 }, (_, i) => turn('telegram:2', i + 1, i % 2 === 0 ? 'user' : 'assistant'));
    store.append(turns.slice(0, 4), 0);
    store.append([turns[3]!, turns[4]!, turns[5]!], 0);
    store.append([turn('telegram:other', 1)], 0);

    expect(store.recent('telegram:2', 0, 3).map((t) => t.messageId)).toEqual(['telegram:2:4', 'telegram:2:5', 'telegram:2:6']);
    expect(store.recent('telegram:2', 0, 100)).toHaveLength(6);
    expect(store.recent('telegram:nobody', 0, 10)).toEqual([]);
  });

  it('forgets a conversation on reset: older turns deleted, the generation only moves forward', () => {
    const store = memoryStore();
    store.append([turn('telegram:3', 1), turn('telegram:3', 2, 'assistant')], 0);
    store.append([turn('telegram:4', 1)], 0);

    expect(store.forget('telegram:3', 1)).toBe(2);
    expect(store.generation('telegram:3')).toBe(1);
    expect(store.recent('telegram:3', 0, 10)).toEqual([]);
    expect(store.recent('telegram:3', 1, 10)).toEqual([]);
    expect(store.recent('telegram:4', 0, 10)).toHaveLength(1);

    const after = turn('telegram:3', 3);
    store.append([after], 1);
    // A late writer of an older generation neither lowers the generation nor shows up.
    store.append([turn('telegram:3', 4)], 0);
    store.forget('telegram:3', 0);
    expect(store.generation('telegram:3')).toBe(1);
    expect(store.recent('telegram:3', 1, 10)).toEqual([after]);
  });

  it('answers a redelivery from the first answer recorded, and prunes old answers', () => {
    const store = memoryStore();
    store.recordAnswer({ messageId: 'm:old', replyKey: 'k:old', replyText: 'old', createdAt: 1_000 });
    store.recordAnswer({ messageId: 'm:new', replyKey: 'k:new', replyText: 'first', createdAt: 5_000 });
    store.recordAnswer({ messageId: 'm:new', replyKey: 'k:new', replyText: 'second', createdAt: 6_000 });
    expect(store.answer('m:new')?.replyText).toBe('first');

    expect(store.pruneAnswers(2_000)).toBe(1);
    expect(store.answer('m:old')).toBeUndefined();
    expect(store.answer('m:new')).toBeDefined();
  });

  it("keeps a completion's tool calls with its answer, and answers a damaged record again rather than throwing", () => {
    const db = openDatabase(':memory:');
    cleanups.push(() => {
      db.close();
    });
    const store = new HistoryStore(db);
    const stop = { reason: 'tool_calls' as const, toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }] };
    store.recordAnswer({ messageId: 'm:calls', replyKey: 'k:calls', replyText: '', createdAt: 1_000, stop });
    store.recordAnswer({ messageId: 'm:plain', replyKey: 'k:plain', replyText: 'hi', createdAt: 1_000, stop: { reason: 'stop' } });
    expect(store.answer('m:calls')).toEqual({ messageId: 'm:calls', replyKey: 'k:calls', replyText: '', createdAt: 1_000, stop });
    expect(store.answer('m:plain')).toEqual({ messageId: 'm:plain', replyKey: 'k:plain', replyText: 'hi', createdAt: 1_000 });

    db.prepare("UPDATE answers SET stop = '{\"reason\":\"bogus\"}' WHERE message_id = 'm:calls'").run();
    expect(store.answer('m:calls')).toBeUndefined();
  });

  it("keeps one rating per user and reply: a new rating replaces the user's earlier one", () => {
    const store = memoryStore();
    store.recordFeedback({ messageId: 'r:1', userId: 'telegram:1', rating: 'up', createdAt: 10 });
    store.recordFeedback({ messageId: 'r:1', userId: 'telegram:2', rating: 'up', createdAt: 11 });
    store.recordFeedback({ messageId: 'r:1', userId: 'telegram:1', rating: 'down', createdAt: 12 });
    expect(store.feedbackFor('r:1')).toEqual([
      { messageId: 'r:1', userId: 'telegram:2', rating: 'up', createdAt: 11 },
      { messageId: 'r:1', userId: 'telegram:1', rating: 'down', createdAt: 12 },
    ]);
  });

  it('stores an exchange atomically: a bad turn leaves neither the turns nor the answer behind', () => {
    const store = memoryStore();
    const bad = { ...turn('telegram:5', 2), role: 'system' } as unknown as Turn;
    expect(() =>
      store.append([turn('telegram:5', 1), bad], 0, { messageId: 'telegram:5:1', replyKey: 'k', replyText: 'x', createdAt: 1 }),
    ).toThrow(/CHECK constraint/);
    expect(store.recent('telegram:5', 0, 10)).toEqual([]);
    expect(store.answer('telegram:5:1')).toBeUndefined();
  });
});
