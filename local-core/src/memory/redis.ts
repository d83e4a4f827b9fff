import type { EventEmitter } from 'node:events';
import { HearthError } from '@hearth/shared';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * Redis could not be reached, or a command on it failed. The message names `REDIS_URL` (with
 * any password masked) and what was being done, so the operator knows which setting to check.
 */
export class RedisError extends HearthError {
  override readonly name = 'RedisError';
  constructor(code: 'redis_unreachable' | 'redis_failed', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** `redis://user:secret@host:6379/0` → `redis://user:***@host:6379/0`: URLs end up in logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable REDIS_URL)';
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Wraps a failed command in a {@link RedisError} that names `REDIS_URL` and the operation. */
export function redisFailure(url: string, doing: string, cause: unknown): RedisError {
  return new RedisError('redis_failed', `Redis at ${redactRedisUrl(url)} (REDIS_URL) failed to ${doing}: ${messageOf(cause)}`, { cause });
}

/**
 * Logs the errors an emitter reports without flooding: ioredis reports every failed reconnect,
 * several times a second while Redis is down. The first error is logged at once, repeats at most
 * every `everyMs` with a count, and `recovered()` logs once when the link is back.
 */
export function throttledErrorLog(log: Logger, what: string, everyMs = 30_000) {
  let lastLogged = 0;
  let suppressed = 0;
  let failing = false;
  return {
    report(error: unknown): void {
      failing = true;
      const now = Date.now();
      if (now - lastLogged < everyMs) {
        suppressed++;
        return;
      }
      log.error({ err: messageOf(error), repeats: suppressed }, `${what}: ${messageOf(error)}`);
      lastLogged = now;
      suppressed = 0;
    },
    recovered(): void {
      if (!failing) return;
      failing = false;
      lastLogged = 0;
      suppressed = 0;
      log.info(`${what}: reachable again`);
    },
  };
}

/** Attaches the `error` listener every Redis connection needs (without one, an error kills the process). */
function watchErrors(emitter: EventEmitter, log: Logger, what: string): void {
  const errors = throttledErrorLog(log, what);
  emitter.on('error', (error: unknown) => errors.report(error));
  emitter.on('ready', () => errors.recovered());
}

export interface ConnectRedisOptions {
  /** What the connection is for (`sessions`, `jobs-worker`): in logs and Redis' CLIENT LIST. */
  name: string;
  log: Logger;
  /**
   * How often a command is retried across reconnects before it fails. Small by default, so a
   * caller learns that Redis is down instead of waiting forever; BullMQ workers need `null`.
   */
  maxRetriesPerRequest?: number | null;
  connectTimeoutMs?: number;
}

/**
 * Opens a connection to `url` and waits until it is ready, so a core configured for Redis
 * refuses to start without it (like a missing model) rather than failing on the first message.
 * Once connected, errors are logged and the client reconnects by itself: they never crash the
 * process.
 *
 * @throws RedisError `redis_unreachable`, naming REDIS_URL and the fix
 * @example
 * const redis = await connectRedis(process.env.REDIS_URL, { name: 'sessions', log });
 */
export async function connectRedis(url: string, options: ConnectRedisOptions): Promise<Redis> {
  // Imported here: a core without REDIS_URL never loads ioredis.
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    connectionName: `hearth-${options.name}`,
    connectTimeout: options.connectTimeoutMs ?? 5_000,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
  });
  watchErrors(client, options.log, `Redis ${options.name} connection to ${redactRedisUrl(url)} (REDIS_URL)`);
  try {
    await client.connect();
  } catch (error) {
    // ioredis keeps redialling after a failed first connect; stop it, we are giving up.
    client.disconnect();
    throw new RedisError(
      'redis_unreachable',
      `cannot reach Redis at ${redactRedisUrl(url)} (REDIS_URL): ${messageOf(error)}. ` +
        'Start redis-server there, correct REDIS_URL, or unset it to keep memory and jobs in this process and on disk.',
      { cause: error },
    );
  }
  return client;
}

/** Closes a connection politely (QUIT lets pending replies arrive), or cuts it if Redis is gone. */
export async function quitRedis(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  if (client.status !== 'ready') {
    // QUIT would wait in the offline queue for a Redis that is not there.
    client.disconnect();
    return;
  }
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}
