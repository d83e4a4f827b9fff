import type { Logger } from '../logger.js';
import { redactRedisUrl } from '../memory/redis.js';
import type { JobsConfig } from './config.js';
import type { JobQueue } from './job-queue.js';
import { LocalJobQueue } from './local-queue.js';

/**
 * The job queue the configuration asks for: BullMQ on `REDIS_URL` (shared with every core on
 * that Redis), else the in-process queue. Same interface, same semantics.
 *
 * @throws RedisError when REDIS_URL is set but Redis cannot be reached
 * @example
 * const queue = await createJobQueue<Payload>(loadJobsConfig(process.env), log, { workerName: config.coreId });
 */
export async function createJobQueue<T>(config: JobsConfig, log: Logger, options: { workerName?: string } = {}): Promise<JobQueue<T>> {
  if (!config.redisUrl) {
    log.info({ queue: config.queueName }, 'job queue: in-process (no REDIS_URL)');
    return new LocalJobQueue<T>(config.retry, config.queueName);
  }
  // BullMQ and ioredis are imported only for a core on Redis.
  const { BullJobQueue } = await import('./bullmq-queue.js');
  const queue = await BullJobQueue.connect<T>({
    redisUrl: config.redisUrl,
    name: config.queueName,
    prefix: config.prefix,
    retry: config.retry,
    log,
    ...(options.workerName ? { workerName: options.workerName } : {}),
  });
  log.info({ queue: config.queueName, redis: redactRedisUrl(config.redisUrl) }, 'job queue: BullMQ on Redis');
  return queue;
}
