import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadMemoryConfig, type MemoryConfig } from '../../src/memory/config.js';
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

/** A folder removed after the test. */
async function scratch(): Promise<string> {
  const tmp = await tempDir();
  cleanups.push(tmp.cleanup);
  return tmp.dir;
}

/** A core's memory on a folder of its own; with `redisPrefix`, sharing the test Redis under it. */
async function core(redisPrefix?: string, folder?: string): Promise<{ memory: Memory; config: MemoryConfig }> {
  const dir = folder ?? (await scratch());
  if (redisPrefix) redis ??= startTestRedis();
  const server = redisPrefix ? await redis : undefined;
  const config = { ...loadMemoryConfig({}), databasePath: join(dir, 'core.db'), redisUrl: server?.url, ...(redisPrefix ? { redisPrefix } : {}) };
  const memory = await openMemory(config, silentLogger());
  cleanups.push(() => memory.dispose());
  return { memory, config };
}

describe('running summary in memory (session L2/L3 and the disk copy)', () => {
  it('is shared with another core through Redis, and read back from disk when Redis forgets the session', async () => {
    const prefix = uniquePrefix();
    const a = await core(prefix);
    const b = await core(prefix);
    const server = await redis!;
    cleanups.push(() => deleteKeys(server.client, prefix));
    expect(await a.memory.updateSummary('telegram:5', 0, { text: 'Ada likes foxes.', through: 'reply:telegram:5:3' })).toBe(true);
    expect((await b.memory.recall('telegram:5')).session).toMatchObject({ summary: 'Ada likes foxes.', summaryThrough: 'reply:telegram:5:3' });

    await server.client.del(`${prefix}session:telegram:5`);
    expect((await a.memory.recall('telegram:5')).session).toMatchObject({ summary: 'Ada likes foxes.', summaryThrough: 'reply:telegram:5:3' });
    // B never wrote it to its disk: what Redis forgot, it does not have.
    expect((await b.memory.recall('telegram:5')).session.summary).toBeUndefined();
  });

  it('survives a restart on the same file without Redis; a reset clears it, and a summary of the older generation is refused', async () => {
    const dir = await scratch();
    const first = await core(undefined, dir);
    await first.memory.updateSummary('telegram:6', 0, { text: 'They met a cat.', through: 'reply:telegram:6:2' });
    await first.memory.dispose();

    const second = await core(undefined, dir);
    expect((await second.memory.recall('telegram:6')).session.summary).toBe('They met a cat.');
    expect(await second.memory.reset('telegram:6')).toBe(1);
    expect((await second.memory.recall('telegram:6')).session.summary).toBeUndefined();
    // A fold that started before the reset finishes after it: its summary is of turns now gone.
    expect(await second.memory.updateSummary('telegram:6', 0, { text: 'stale', through: 'x' })).toBe(false);
    await second.memory.dispose();

    const third = await core(undefined, dir);
    expect((await third.memory.recall('telegram:6')).session).toMatchObject({ generation: 1 });
    expect((await third.memory.recall('telegram:6')).session.summary).toBeUndefined();
  });
});
