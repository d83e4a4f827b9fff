import type { Logger } from '../logger.js';
import type { MemoryConfig } from './config.js';
import { openDatabase } from './database.js';
import { HistoryStore } from './history-store.js';
import { SqliteStateStore } from './local-state.js';
import { Memory } from './memory.js';
import { connectRedis, quitRedis, redactRedisUrl } from './redis.js';
import { SessionStore } from './session-store.js';
import type { StateStore } from './state.js';

/**
 * Opens the memory the configuration asks for: the SQLite file always, Redis when `REDIS_URL`
 * is set (and reachable: an unreachable Redis stops the start with a message naming it).
 *
 * @example
 * await using memory = await openMemory(loadMemoryConfig(process.env), log);
 */
export async function openMemory(config: MemoryConfig, log: Logger): Promise<Memory> {
  const db = openDatabase(config.databasePath);
  try {
    const history = new HistoryStore(db);
    const redis = config.redisUrl ? await connectRedis(config.redisUrl, { name: 'memory', log }) : undefined;
    const state: StateStore =
      redis && config.redisUrl
        ? new SessionStore(redis, { url: config.redisUrl, prefix: config.redisPrefix, sessionTtlSeconds: config.sessionTtlSeconds })
        : new SqliteStateStore(db, { sessionTtlSeconds: config.sessionTtlSeconds });
    const memory = new Memory({
      history,
      state,
      log,
      hotCacheBytes: config.hotCacheBytes,
      historyTurns: config.historyTurns,
      answerTtlSeconds: config.answerTtlSeconds,
      onClose: async () => {
        if (redis) await quitRedis(redis);
        db.close();
      },
    });
    const pruned = memory.prune();
    log.info(
      { database: config.databasePath, l2: config.redisUrl ? redactRedisUrl(config.redisUrl) : 'off', pruned },
      config.redisUrl ? 'memory ready: L1 + L2 (Redis) + L3 (SQLite)' : 'memory ready: L1 + L3 (SQLite), no REDIS_URL',
    );
    return memory;
  } catch (error) {
    db.close();
    throw error;
  }
}
