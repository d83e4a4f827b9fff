import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { MemoryConfig } from '../../src/memory/config.js';
import { openDatabase } from '../../src/memory/database.js';
import { HistoryStore, type Turn } from '../../src/memory/history-store.js';
import type { Memory } from '../../src/memory/memory.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { silentLogger, tempDir } from '../support.js';
import { deleteKeys, startTestRedis, type TestRedis, uniquePrefix } from './redis-support.js';

let redis: Promise<TestRedis> | undefined;
afterAll(async () => (await redis)?.stop());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A config on a fresh folder; with Redis, on the real server under a prefix of its own. */
async function config(withRedis: boolean, overrides: Partial<MemoryConfig> = {}): Promise<MemoryConfig> {
  const tmp = await tempDir();
  cleanups.push(tmp.cleanup);
  let redisUrl: string | undefined;
  const redisPrefix = uniquePrefix();
  if (withRedis) {
    redis ??= startTestRedis();
    const server = await redis;
    redisUrl = server.url;
    cleanups.push(() => deleteKeys(server.client, redisPrefix));
  }
  return {
    redisUrl,
    redisPrefix,
    databasePath: join(tmp.dir, 'core.db'),
    hotCacheBytes: 1024 * 1024,
    historyTurns: 4,
    summaryTokens: 256,
    sessionTtlSeconds: 3_600,
    answerTtlSeconds: 3_600,
    ...overrides,
  };
}

async function open(c: MemoryConfig): Promise<Memory> {
  const memory = await openMemory(c, silentLogger());
  cleanups.push(() => memory.dispose());
  return memory;
}

let clock = 1_700_000_000_000;
const exchange = (conversationId: string, n: number): Turn[] => [
  { messageId: `${conversationId}:${n}`, conversationId, role: 'user', senderId: 'telegram:42', text: `question ${n}`, createdAt: clock++, inReplyTo: null },
  {
    messageId: `reply:${conversationId}:${n}`,
    conversationId,
    role: 'assistant',
    senderId: 'core',
    text: `answer ${n}`,
    createdAt: clock++,
    inReplyTo: `${conversationId}:${n}`,
  },
];
const texts = (turns: Turn[]) => turns.map((turn) => turn.text);

describe.each([
  ['without Redis (L1 + L3)', false],
  ['with Redis (L1 + L2 + L3)', true],
])('Memory %s', (_name, withRedis) => {
  it('recalls what it remembered, hot from L1 after the first read, and the last N turns only', async () => {
    const memory = await open(await config(withRedis));
    const empty = await memory.recall('telegram:1');
    expect(empty).toEqual({ conversationId: 'telegram:1', generation: 0, session: { generation: 0, updatedAt: 0 }, turns: [] });

    memory.remember({ generation: 0, turns: exchange('telegram:1', 1) });
    memory.remember({ generation: 0, turns: exchange('telegram:1', 2) });
    memory.remember({ generation: 0, turns: exchange('telegram:1', 3) });
    const recalled = await memory.recall('telegram:1');
    expect(texts(recalled.turns)).toEqual(['question 2', 'answer 2', 'question 3', 'answer 3']);
    expect(texts((await memory.recall('telegram:1', 1)).turns)).toEqual(['answer 3']);
    expect(texts((await memory.recall('telegram:1', 6)).turns)).toEqual(['question 1', 'answer 1', 'question 2', 'answer 2', 'question 3', 'answer 3']);

    const stats = memory.stats();
    expect(stats.l1).toMatchObject({ hits: 2, misses: 1, entries: 1 });
    // Every lookup counts at the tier that answered it: without Redis, session reads are L3's too.
    expect(stats.l3).toEqual({ hits: 1, misses: withRedis ? 1 : 5 });
    expect(stats.l2).toEqual(withRedis ? { hits: 0, misses: 4 } : null);
    expect(memory.stateTier).toBe(withRedis ? 'l2' : 'l3');
  });

  it('keeps history, answers and sessions across a restart, and answers a redelivery from disk', async () => {
    const c = await config(withRedis);
    const first = await open(c);
    const [question, reply] = exchange('telegram:2', 1);
    first.remember({ generation: 0, turns: [question!, reply!], answer: { messageId: question!.messageId, replyKey: reply!.messageId, replyText: reply!.text, createdAt: Date.now() } });
    await first.updateSession('telegram:2', { summaryThrough: 'x', summary: 'asked one question' });
    await first.dispose();

    const second = await open(c);
    expect(second.answerFor(question!.messageId)).toMatchObject({ replyKey: reply!.messageId, replyText: 'answer 1' });
    const recalled = await second.recall('telegram:2');
    expect(texts(recalled.turns)).toEqual(['question 1', 'answer 1']);
    expect(recalled.session).toMatchObject({ generation: 0, summaryThrough: 'x', summary: 'asked one question' });
    expect(second.stats().l3.hits).toBe(withRedis ? 1 : 2);
  });

  it('resets a conversation: turns and summary gone, generation bumped, answers kept', async () => {
    const memory = await open(await config(withRedis));
    const [question, reply] = exchange('telegram:3', 1);
    memory.remember({ generation: 0, turns: [question!, reply!], answer: { messageId: question!.messageId, replyKey: 'k', replyText: 'answer 1', createdAt: Date.now() } });
    memory.remember({ generation: 0, turns: exchange('telegram:other', 1) });
    await memory.updateSummary('telegram:3', 0, { text: 'secret plans', through: reply!.messageId });
    await memory.recall('telegram:3');

    expect(await memory.reset('telegram:3')).toBe(1);
    const after = await memory.recall('telegram:3');
    expect(after.generation).toBe(1);
    expect(after.turns).toEqual([]);
    expect(after.session).toMatchObject({ generation: 1 });
    expect(after.session.summary).toBeUndefined();
    expect(after.session.summaryThrough).toBeUndefined();
    expect(memory.answerFor(question!.messageId)?.replyText).toBe('answer 1');
    expect(texts((await memory.recall('telegram:other')).turns)).toEqual(['question 1', 'answer 1']);

    // What comes after the reset is the conversation from now on.
    memory.remember({ generation: 1, turns: exchange('telegram:3', 2) });
    expect(texts((await memory.recall('telegram:3')).turns)).toEqual(['question 2', 'answer 2']);
    expect(await memory.reset('telegram:3')).toBe(2);
  });

  it('prunes answers past their TTL', async () => {
    const memory = await open(await config(withRedis, { answerTtlSeconds: 60 }));

    const now = Date.now();
    memory.remember({ generation: 0, turns: [], answer: { messageId: 'old', replyKey: 'k1', replyText: 'x', createdAt: now - 61_000 } });
    memory.remember({ generation: 0, turns: [], answer: { messageId: 'new', replyKey: 'k2', replyText: 'y', createdAt: now } });
    expect(memory.prune(now).answers).toBe(1);
    expect(memory.answerFor('old')).toBeUndefined();
    expect(memory.answerFor('new')).toBeDefined();
  });
});

describe('Memory shared by several cores through one Redis', () => {
  it("sees another core's reset: its hot context and its own turns on disk are dropped", async () => {
    const a = await config(true);
    const b = { ...(await config(true)), redisPrefix: a.redisPrefix };
    const coreA = await open(a);
    const coreB = await open(b);

    // Core B served this conversation for a while: its turns are hot and on its disk.
    coreB.remember({ generation: 0, turns: exchange('telegram:5', 1) });
    expect(texts((await coreB.recall('telegram:5')).turns)).toEqual(['question 1', 'answer 1']);
    await coreB.updateSession('telegram:5', { summary: 'before the reset' });

    expect(await coreA.reset('telegram:5')).toBe(1);

    const seenByB = await coreB.recall('telegram:5');
    expect(seenByB.generation).toBe(1);
    expect(seenByB.turns).toEqual([]);
    expect(seenByB.session.summary).toBeUndefined();
    await coreB.dispose();
    const diskOfB = openDatabase(b.databasePath);
    cleanups.push(() => {
      diskOfB.close();
    });
    expect(new HistoryStore(diskOfB).recent('telegram:5', 0, 10)).toEqual([]);
  });

  it('does not bring back reset turns when Redis forgets the session, and heals the session from disk', async () => {
    const c = await config(true);
    const memory = await open(c);
    memory.remember({ generation: 0, turns: exchange('telegram:6', 1) });
    await memory.reset('telegram:6');
    memory.remember({ generation: 1, turns: exchange('telegram:6', 2) });
    const server = await redis!;
    await server.client.del(`${c.redisPrefix}session:telegram:6`);

    const recalled = await memory.recall('telegram:6');
    expect(recalled.generation).toBe(1);
    expect(texts(recalled.turns)).toEqual(['question 2', 'answer 2']);
    await memory.updateSession('telegram:6', { summary: 'b' });
    expect(JSON.parse((await server.client.get(`${c.redisPrefix}session:telegram:6`)) ?? 'null')).toMatchObject({ generation: 1, summary: 'b' });
  });

  it('will not open with REDIS_URL set to a Redis that does not answer', async () => {
    const c = { ...(await config(false)), redisUrl: 'redis://127.0.0.1:1' };
    await expect(openMemory(c, silentLogger())).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 \(REDIS_URL\)/);
  });
});
