import { wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { parseEnv } from '../env.js';
import { RedisEnvShape } from '../memory/config.js';
import type { RetryPolicy } from './job-queue.js';

/** The job queue's environment variables, defaults included (REDIS_URL is shared with memory). */
export const JobsEnvSchema = z.object({
  ...RedisEnvShape,
  HEARTH_JOB_QUEUE: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,64}$/, 'HEARTH_JOB_QUEUE must be 1-64 characters of A-Z a-z 0-9 . _ - (no colon)')
    .default('deliveries')
    .meta({ description: 'the job queue deliveries go through: cores on one Redis sharing its name share the work' }),
  HEARTH_JOB_ATTEMPTS: wholeNumber('HEARTH_JOB_ATTEMPTS', 1, 100).default(3).meta({ description: 'runs of a delivery job before it fails' }),
  HEARTH_JOB_BACKOFF_MS: wholeNumber('HEARTH_JOB_BACKOFF_MS', 0, 600_000).default(1_000).meta({ description: "delay before a job's first retry, doubled for each next one" }),
  HEARTH_SHUTDOWN_TIMEOUT_MS: wholeNumber('HEARTH_SHUTDOWN_TIMEOUT_MS', 0, 600_000).default(30_000).meta({ description: 'on stop, how long running replies may take to finish before they are left to the Relay' }),
});

export interface JobsConfig {
  /** BullMQ on this Redis when set; the in-process queue when not. */
  redisUrl: string | undefined;
  /** BullMQ's key prefix: HEARTH_REDIS_PREFIX without its colon (`hearth` → `hearth:deliveries:wait`). */
  prefix: string;
  /** Cores sharing a Redis share the queue of this name. */
  queueName: string;
  retry: RetryPolicy;
  /** How long a stopping core lets running jobs finish before abandoning them. */
  shutdownTimeoutMs: number;
}

/**
 * Validates the job queue's settings in `env` (empty strings count as unset).
 *
 * @throws ConfigError listing every bad variable
 * @example
 * const queue = await createJobQueue<Payload>(loadJobsConfig(process.env), log);
 */
export function loadJobsConfig(env: NodeJS.ProcessEnv): JobsConfig {
  const e = parseEnv(JobsEnvSchema, env);
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.HEARTH_REDIS_PREFIX.slice(0, -1),
    queueName: e.HEARTH_JOB_QUEUE,
    retry: { attempts: e.HEARTH_JOB_ATTEMPTS, backoffMs: e.HEARTH_JOB_BACKOFF_MS },
    shutdownTimeoutMs: e.HEARTH_SHUTDOWN_TIMEOUT_MS,
  };
}
