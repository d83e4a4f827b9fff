export { BullJobQueue, idOfJobId, jobIdFor, type BullJobQueueOptions } from './bullmq-queue.js';
export { JobsEnvSchema, loadJobsConfig, type JobsConfig } from './config.js';
export { createJobQueue } from './create-queue.js';
export { creditWindow, MAX_CREDITS, queueCreditWindow, type Capacity } from './credits.js';
export {
  QueueClosedError,
  retryDelay,
  type DisposeOptions,
  type DisposeReport,
  type JobContext,
  type JobCounts,
  type JobHandler,
  type JobQueue,
  type JobQueueEvents,
  type QueuedJob,
  type RetryPolicy,
} from './job-queue.js';
export { LocalJobQueue } from './local-queue.js';
