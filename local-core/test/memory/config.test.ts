import { describe, expect, it } from 'vitest';
import { loadMemoryConfig } from '../../src/memory/config.js';

describe('loadMemoryConfig', () => {
  it('runs without Redis by default, on .hearth/core.db, with documented defaults', () => {
    expect(loadMemoryConfig({ REDIS_URL: '' })).toEqual({
      redisUrl: undefined,
      redisPrefix: 'hearth:',
      databasePath: '.hearth/core.db',
      hotCacheBytes: 64 * 1024 * 1024,
      historyTurns: 24,
      summaryTokens: 256,
      sessionTtlSeconds: 30 * 86_400,
      answerTtlSeconds: 7 * 86_400,
    });
  });

  it('reads every setting', () => {
    const config = loadMemoryConfig({
      REDIS_URL: 'rediss://user:pw@redis.lan:6380/2',
      HEARTH_REDIS_PREFIX: 'home:',
      HEARTH_DATA_DIR: '/var/lib/hearth',
      HEARTH_HOT_CACHE_MB: '8',
      HEARTH_HISTORY_TURNS: '10',
      HEARTH_SUMMARY_TOKENS: '128',
      HEARTH_SESSION_TTL: '600',
      HEARTH_ANSWER_TTL: '3600',
    });
    expect(config).toEqual({
      redisUrl: 'rediss://user:pw@redis.lan:6380/2',
      redisPrefix: 'home:',
      databasePath: '/var/lib/hearth/core.db',
      hotCacheBytes: 8 * 1024 * 1024,
      historyTurns: 10,
      summaryTokens: 128,
      sessionTtlSeconds: 600,
      answerTtlSeconds: 3600,
    });
  });

  it('names each bad variable and the fix', () => {
    expect(() => loadMemoryConfig({ REDIS_URL: 'http://127.0.0.1:6379', HEARTH_REDIS_PREFIX: 'no-colon', HEARTH_HOT_CACHE_MB: '0' })).toThrow(
      /REDIS_URL must be a Redis URL such as redis:\/\/127\.0\.0\.1:6379[\s\S]*HEARTH_REDIS_PREFIX must be[\s\S]*HEARTH_HOT_CACHE_MB must be at least 1/,
    );
    expect(() => loadMemoryConfig({ REDIS_URL: 'redis:/nohost' })).toThrow(/REDIS_URL/);
  });
});
