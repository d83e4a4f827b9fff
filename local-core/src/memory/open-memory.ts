import type { Logger } from '../logger.js';
import type { MemoryConfig } from './config.js';
import { openDatabase } from './database.js';
import { HistoryStore } from './history-store.js';
import { HistorySync } from './history-sync.js';
import { SqliteStateStore } from './local-state.js';
import { Memory } from './memory.js';
import { connectRedis, quitRedis, redactRedisUrl } from './redis.js';
import { SessionStore } from './session-store.js';
import type { StateStore } from './state.js';
import { SummaryStore } from './summary-store.js';

export interface OpenMemoryOptions {
  /** HEARTH_CORE_ID: said with the turns this core shares with the others (with Redis). */
  coreId?: string;
}

/**
 * Opens the memory the configuration asks for: the SQLite file always, Redis when `REDIS_URL`
 * is set (and reachable: an unreachable Redis stops the start with a message naming it). With
 * Redis, API conversations' turns are shared with every core on it (see history-sync.ts).
 *
 * @example
 * await using memory = await openMemory(loadMemoryConfig(process.env), log, { coreId: 'core-a' });
 */
export async function openMemory(config: MemoryConfig, log: Logger, options: OpenMemoryOptions = {}): Promise<Memory> {
  const db = openDatabase(config.databasePath);
  const redisUrl = config.redisUrl;
  let redis: Awaited<ReturnType<typeof connectRedis>> | undefined;
  let sync: HistorySync | undefined;
  try {
    const history = new HistoryStore(db);
    redis = redisUrl ? await connectRedis(redisUrl, { name: 'memory', log }) : undefined;
    const state: StateStore =
      redis && redisUrl
        ? new SessionStore(redis, { url: redisUrl, prefix: config.redisPrefix, sessionTtlSeconds: config.sessionTtlSeconds })
        : new SqliteStateStore(db, { sessionTtlSeconds: config.sessionTtlSeconds });
    const memory = new Memory({
      history,
      state,
      summaries: new SummaryStore(db),
      log,
      hotCacheBytes: config.hotCacheBytes,
      historyTurns: config.historyTurns,
      answerTtlSeconds: config.answerTtlSeconds,
      replicate: {
        publish: (generation, turns) => sync?.publish(generation, turns),
        publishReset: (conversationId, generation) => sync?.publishReset(conversationId, generation),
      },
      // In order: stop taking other cores' turns, let pending publishes and replies arrive, then the disk.
      onClose: async () => {
        await sync?.dispose();
        if (redis) await quitRedis(redis);
        db.close();
      },
    });
    if (redis && redisUrl) {
      const subscriber = await connectRedis(redisUrl, { name: 'history-sync', log });
      sync = await HistorySync.start({
        publisher: redis,
        subscriber,
        channel: `${config.redisPrefix}history`,
        coreId: options.coreId ?? 'core',
        log,
        onTurns: (generation, turns) => memory.absorb(generation, turns),
        onReset: (conversationId, generation) => memory.absorbReset(conversationId, generation),
      }).catch(async (error: unknown) => {
        await quitRedis(subscriber);
        throw error;
      });
    }
    const pruned = memory.prune();
    log.info(
      { database: config.databasePath, l2: redisUrl ? redactRedisUrl(redisUrl) : 'off', pruned },
      redisUrl ? 'memory ready: L1 + L2 (Redis) + L3 (SQLite), history shared with the other cores' : 'memory ready: L1 + L3 (SQLite), no REDIS_URL',
    );
    return memory;
  } catch (error) {
    if (redis) await quitRedis(redis);
    db.close();
    throw error;
  }
}
