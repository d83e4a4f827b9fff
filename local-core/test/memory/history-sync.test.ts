import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Turn } from '../../src/memory/history-store.js';
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

/** Two cores' memories: one Redis (a prefix of this test's own), two SQLite files. */
async function twoCores(): Promise<{ a: Memory; b: Memory; prefix: string; server: TestRedis }> {
  redis ??= startTestRedis();
  const server = await redis;
  const prefix = uniquePrefix();
  cleanups.push(() => deleteKeys(server.client, prefix));
  const open = async (coreId: string) => {
    const tmp = await tempDir();
    cleanups.push(tmp.cleanup);
    const memory = await openMemory(
      {
        redisUrl: server.url,
        redisPrefix: prefix,
        databasePath: join(tmp.dir, 'core.db'),
        hotCacheBytes: 1024 * 1024,
        historyTurns: 8,
        summaryTokens: 256,
        sessionTtlSeconds: 3_600,
        answerTtlSeconds: 3_600,
      },
      silentLogger(),
      { coreId },
    );
    cleanups.push(() => memory.dispose());
    return memory;
  };
  return { a: await open('core-a'), b: await open('core-b'), prefix, server };
}

let clock = 1_700_000_000_000;
const exchange = (conversationId: string, n: number, text = `question ${n}`): Turn[] => [
  { messageId: `${conversationId}:${n}`, conversationId, role: 'user', senderId: 'api:ada', text, createdAt: clock++, inReplyTo: null },
  { messageId: `reply:${conversationId}:${n}`, conversationId, role: 'assistant', senderId: 'hearth', text: `answer ${n}`, createdAt: clock++, inReplyTo: `${conversationId}:${n}` },
];

describe('history shared between cores over Redis pub/sub (real Redis, two SQLite files)', () => {
  it("gives every core the same answer to a history request, whichever stored the turns", async () => {
    const { a, b } = await twoCores();
    a.remember({ generation: 0, turns: exchange('api:ada:phone', 1) });
    b.remember({ generation: 0, turns: exchange('api:ada:laptop', 2) });
    a.remember({ generation: 0, turns: exchange('api:ada:phone', 3) });

    await expect.poll(() => b.apiHistory.since('ada', null, 50).items.length).toBe(6);
    await expect.poll(() => a.apiHistory.since('ada', null, 50).items.length).toBe(6);
    expect(b.apiHistory.since('ada', null, 50)).toEqual(a.apiHistory.since('ada', null, 50));
    expect(b.apiHistory.conversations('ada', 10)).toEqual(a.apiHistory.conversations('ada', 10));
    // The other core's memory has them too: a failover carries the conversation on.
    expect((await b.recall('api:ada:phone')).turns.map((turn) => turn.text)).toEqual(['question 1', 'answer 1', 'question 3', 'answer 3']);
  });

  it("shares neither completions nor platform chats, skips its own messages, and stores no text in Redis", async () => {
    const { a, b, prefix, server } = await twoCores();
    const absorbedByA = vi.spyOn(a, 'absorb');
    a.remember({ generation: 0, turns: exchange('api:ada:completion.1f', 1, 'completion text') });
    a.remember({ generation: 0, turns: exchange('telegram:42', 2, 'telegram text') });
    a.remember({ generation: 0, turns: exchange('api:ada:phone', 3, 'api text') });
    await expect.poll(() => b.apiHistory.messages('ada', 'phone', null, 10).items.length).toBe(2);

    expect((await b.recall('telegram:42')).turns).toEqual([]);
    expect((await b.recall('api:ada:completion.1f')).turns).toEqual([]);
    expect(absorbedByA).not.toHaveBeenCalled();
    const keys = await server.client.keys(`${prefix}*`);
    const values = await Promise.all(keys.map((key) => server.client.dumpBuffer(key)));
    for (const value of values) expect(value?.toString('latin1') ?? '').not.toContain('api text');
  });

  it("follows the other core's resets, and drops turns of a generation it has reset past", async () => {
    const { a, b } = await twoCores();
    a.remember({ generation: 0, turns: exchange('api:ada:phone', 1) });
    await expect.poll(() => b.apiHistory.messages('ada', 'phone', null, 10).items.length).toBe(2);

    // Core A resets and answers again: core B learns of generation 1 from the turns.
    await a.reset('api:ada:phone');
    a.remember({ generation: 1, turns: exchange('api:ada:phone', 2) });
    await expect.poll(() => b.apiHistory.messages('ada', 'phone', null, 10).items.map((item) => item.text)).toEqual(['question 2', 'answer 2']);

    // A reset alone reaches the other core too: it stops serving the turns at once.
    await a.reset('api:ada:phone');
    await expect.poll(() => b.apiHistory.messages('ada', 'phone', null, 10).items).toEqual([]);

    // A late publish of an older generation (a core that had not seen the resets) is dropped.
    b.absorb(0, exchange('api:ada:phone', 3));
    expect(b.apiHistory.messages('ada', 'phone', null, 10).items).toEqual([]);
    b.absorb(1, exchange('api:ada:phone', 4));
    expect(b.apiHistory.messages('ada', 'phone', null, 10).items).toEqual([]);
  });

  it('ignores what is not a sync message on its channel, and keeps working', async () => {
    const { b, prefix, server } = await twoCores();
    const publisher = new Redis(server.url);
    publisher.on('error', () => {});
    cleanups.push(() => {
      publisher.disconnect();
    });
    await publisher.publish(`${prefix}history`, 'not json');
    await publisher.publish(`${prefix}history`, JSON.stringify({ kind: 'turns', core: 'x', instance: 'y', generation: 0, turns: exchange('telegram:1', 1) }));
    await publisher.publish(`${prefix}history`, JSON.stringify({ kind: 'reset', core: 'x', instance: 'y', conversationId: 'telegram:1', generation: 3 }));
    await publisher.publish(
      `${prefix}history`,
      JSON.stringify({ kind: 'turns', core: 'other', instance: 'z', generation: 0, turns: exchange('api:ada:tablet', 1) }),
    );
    await expect.poll(() => b.apiHistory.messages('ada', 'tablet', null, 10).items.length).toBe(2);
    // Neither the turns nor the reset of a platform chat are taken from the channel.
    expect(await b.recall('telegram:1')).toMatchObject({ generation: 0, turns: [] });
  });
});
