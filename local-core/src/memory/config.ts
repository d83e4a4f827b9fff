import { join } from 'node:path';
import { wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from '../env.js';

const REDIS_URL_ADVICE =
  'REDIS_URL must be a Redis URL such as redis://127.0.0.1:6379 or rediss://user:password@host:6380/0; unset it to run without Redis';

/** `redis://` or `rediss://` with a host; anything else is refused with the fix. */
const RedisUrlSchema = z.string().refine((value) => {
  try {
    const url = new URL(value);
    return (url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '';
  } catch {
    return false;
  }
}, REDIS_URL_ADVICE);

/**
 * Settings shared by everything that talks to Redis (memory tiers and the job queue), as a zod
 * shape the core's configuration can spread into its own schema.
 */
export const RedisEnvShape = {
  REDIS_URL: RedisUrlSchema.optional().meta({ description: 'Redis for sessions (and their summaries) shared by several cores (L2) and the BullMQ job queue they share', shownDefault: 'none (embedded: memory + SQLite, in-process job queue)' }),
  HEARTH_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}:$/, 'HEARTH_REDIS_PREFIX must be 1-64 characters of A-Z a-z 0-9 . _ - followed by a colon, e.g. hearth:')
    .default('hearth:')
    .meta({ description: 'prefix of every Redis key, so that one Redis can serve other applications too' }),
};

/** The memory tiers' environment variables, defaults included. */
export const MemoryEnvSchema = z.object({
  ...RedisEnvShape,
  HEARTH_DATA_DIR: z.string().min(1, 'HEARTH_DATA_DIR must be a folder path').default('.hearth').meta({ description: "the core's own data: `core.db` (SQLite: history, dedupe records, feedback, recall vectors, memory items, plugin data), `MEMORY.md`, `mcp.json`" }),
  HEARTH_HOT_CACHE_MB: wholeNumber('HEARTH_HOT_CACHE_MB', 1, 65_536).default(64).meta({ description: 'L1: hot conversation contexts kept in memory, bounded by size' }),
  HEARTH_HISTORY_TURNS: wholeNumber('HEARTH_HISTORY_TURNS', 2, 1_000).default(24).meta({ description: "recent turns given to the model when a conversation's context is rebuilt (after a restart, an eviction or a reset elsewhere)" }),
  HEARTH_SUMMARY_TOKENS: wholeNumber('HEARTH_SUMMARY_TOKENS', 16, 4_096).default(256).meta({ description: "most tokens of a conversation's running summary (compaction; also at most a quarter of the history budget)" }),
  HEARTH_SESSION_TTL: wholeNumber('HEARTH_SESSION_TTL', 60, 10 * 365 * 86_400).default(30 * 86_400).meta({ description: "seconds an idle session (a conversation's context and summary) is kept", shownDefault: '`2592000` (30 days)' }),
  HEARTH_ANSWER_TTL: wholeNumber('HEARTH_ANSWER_TTL', 60, 365 * 86_400).default(7 * 86_400).meta({ description: "seconds an answered message's reply is kept, to answer a redelivery from disk: keep it at least the edge's `HEARTH_QUEUE_TTL`", shownDefault: '`604800` (7 days)' }),
});

export interface MemoryConfig {
  /** L2 when set; without it the core runs on L1 + L3 alone. */
  redisUrl: string | undefined;
  redisPrefix: string;
  /** The SQLite file (L3): `<HEARTH_DATA_DIR>/core.db`. */
  databasePath: string;
  /** L1's bound, in bytes of conversation text held in memory. */
  hotCacheBytes: number;
  /** Turns of a conversation kept hot and handed to the model: the recent window. */
  historyTurns: number;
  /** Most tokens of a conversation's running summary (compaction), and at most a quarter of its history budget. */
  summaryTokens: number;
  /** A conversation's session is forgotten after this long without being read or written. */
  sessionTtlSeconds: number;
  /**
   * How long an answered message's reply is kept to answer a redelivery from disk. Keep it at
   * least the edge's HEARTH_QUEUE_TTL: the Relay never redelivers a message older than that.
   */
  answerTtlSeconds: number;
}

/**
 * Validates the memory settings in `env` (empty strings count as unset, as in `.env`).
 *
 * @throws ConfigError listing every bad variable
 * @example
 * const memory = await openMemory(loadMemoryConfig(process.env), log);
 */
export function loadMemoryConfig(env: NodeJS.ProcessEnv): MemoryConfig {
  const e = parseEnv(MemoryEnvSchema, env);
  return {
    redisUrl: e.REDIS_URL,
    redisPrefix: e.HEARTH_REDIS_PREFIX,
    databasePath: join(e.HEARTH_DATA_DIR, 'core.db'),
    hotCacheBytes: e.HEARTH_HOT_CACHE_MB * 1024 * 1024,
    historyTurns: e.HEARTH_HISTORY_TURNS,
    summaryTokens: e.HEARTH_SUMMARY_TOKENS,
    sessionTtlSeconds: e.HEARTH_SESSION_TTL,
    answerTtlSeconds: e.HEARTH_ANSWER_TTL,
  };
}
