import { describe, expect, it } from 'vitest';
import { loadJobsConfig } from '../../src/jobs/config.js';

describe('loadJobsConfig', () => {
  it('uses the in-process queue without REDIS_URL, with documented defaults', () => {
    expect(loadJobsConfig({})).toEqual({
      redisUrl: undefined,
      prefix: 'hearth',
      queueName: 'deliveries',
      retry: { attempts: 3, backoffMs: 1_000 },
      shutdownTimeoutMs: 30_000,
    });
  });

  it('reads every setting, the BullMQ prefix from HEARTH_REDIS_PREFIX', () => {
    expect(
      loadJobsConfig({
        REDIS_URL: 'redis://127.0.0.1:6379',
        HEARTH_REDIS_PREFIX: 'home:',
        HEARTH_JOB_QUEUE: 'inbox',
        HEARTH_JOB_ATTEMPTS: '5',
        HEARTH_JOB_BACKOFF_MS: '250',
        HEARTH_SHUTDOWN_TIMEOUT_MS: '5000',
      }),
    ).toEqual({ redisUrl: 'redis://127.0.0.1:6379', prefix: 'home', queueName: 'inbox', retry: { attempts: 5, backoffMs: 250 }, shutdownTimeoutMs: 5_000 });
  });

  it('refuses a queue name BullMQ would refuse, and other bad values, naming them', () => {
    expect(() => loadJobsConfig({ HEARTH_JOB_QUEUE: 'a:b', HEARTH_JOB_ATTEMPTS: '0' })).toThrow(
      /HEARTH_JOB_QUEUE must be[\s\S]*HEARTH_JOB_ATTEMPTS must be at least 1/,
    );
  });
});
