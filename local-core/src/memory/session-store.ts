import { backoffMs } from '@hearth/shared';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { z } from 'zod';
import { redisFailure } from './redis.js';
import { parseStored, type Session, SessionSchema, type StateStore, type Update } from './state.js';

/**
 * Compare-and-set: writes ARGV[3] only if the key still holds what the caller read (ARGV[1] = 1
 * and ARGV[2] = the old value, or ARGV[1] = 0 for "was absent"). Unlike WATCH/MULTI it is safe
 * on a connection shared by concurrent callers. ARGV[4] is a TTL in seconds, 0 for none.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] == '0' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
end
return 1`;

/** Concurrent writers of one key retry this often before giving up; in practice one or two suffice. */
const MAX_CAS_ATTEMPTS = 32;

export interface SessionStoreOptions {
  /** Only for error messages: which URL (password masked) the operator should check. */
  url: string;
  /** Prefix of every key, e.g. `hearth:`. */
  prefix: string;
  sessionTtlSeconds: number;
}

/**
 * L2: sessions in Redis, shared by every core pointed at it. Keys are
 * `<prefix>session:<conversation id>` (idle TTL, restarted by every read). Values are JSON
 * validated with zod both ways. The
 * connection is the caller's (see `connectRedis`), which also owns its error listener.
 *
 * @example
 * const sessions = new SessionStore(await connectRedis(url, { name: 'sessions', log }), { url, prefix: 'hearth:', sessionTtlSeconds: 2_592_000 });
 */
export class SessionStore implements StateStore {
  readonly tier = 'l2';

  constructor(
    private readonly redis: Redis,
    private readonly options: SessionStoreOptions,
  ) {}

  async session(conversationId: string): Promise<Session | undefined> {
    const key = this.sessionKey(conversationId);
    const raw = await this.command(`read ${key}`, () => this.redis.getex(key, 'EX', this.options.sessionTtlSeconds));
    return raw === null ? undefined : parseStored(SessionSchema, raw, `Redis key ${key}`);
  }

  updateSession(conversationId: string, update: Update<Session>): Promise<Session> {
    return this.compareAndSet(this.sessionKey(conversationId), SessionSchema, update, this.options.sessionTtlSeconds);
  }

  sessionKey(conversationId: string): string {
    return `${this.options.prefix}session:${conversationId}`;
  }

  /** Optimistic read-modify-write: re-read and re-apply `update` whenever another writer got in first. */
  private async compareAndSet<S extends z.ZodType>(key: string, schema: S, update: Update<z.infer<S>>, ttlSeconds: number): Promise<z.infer<S>> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const raw = await this.command(`read ${key}`, () => this.redis.get(key));
      const current = raw === null ? undefined : parseStored(schema, raw, `Redis key ${key}`);
      const next = schema.parse(update(current));
      const json = JSON.stringify(next);
      const args = [raw === null ? '0' : '1', raw ?? '', json, String(ttlSeconds)];
      const stored = await this.command(`write ${key}`, () => this.redis.eval(COMPARE_AND_SET, 1, key, ...args));
      if (stored === 1) return next;
      // Writers that collided would collide again in lockstep: a random pause spreads them out.
      await sleep(backoffMs(attempt, { baseMs: 1, capMs: 64, jitter: 'full' }));
    }
    throw redisFailure(this.options.url, `write ${key}`, new Error(`${MAX_CAS_ATTEMPTS} concurrent writers kept changing it`));
  }

  private async command<R>(doing: string, run: () => Promise<R>): Promise<R> {
    try {
      return await run();
    } catch (error) {
      throw redisFailure(this.options.url, doing, error);
    }
  }
}
