import type { JobQueue } from './job-queue.js';

/** The Relay's cap on a core's window (the tunnel schema's bound). */
export const MAX_CREDITS = 10_000;

export interface Capacity {
  /** Jobs this core runs at once: its free context sequences when idle (HEARTH_SEQUENCES). */
  sequences: number;
  /** Jobs this core's handler is running now. */
  running: number;
  /** Jobs queued ahead of a new one: they take this core's sequences first (BullMQ: the shared queue's). */
  waiting: number;
  /** Deliveries this core has received and not yet acked, wherever their jobs are. */
  held: number;
}

/**
 * The window to grant the Relay (the `credits` of hello and credit frames): the most unacked
 * deliveries this core should hold. It is absolute, not an increment, so it is what the core
 * already holds plus what it could start right now:
 *
 *   window = held + max(0, sequences − running − waiting)
 *
 * Why each term: a delivery the core holds counts against the window until it is acked, so the
 * window must include `held` or the Relay would stop sending the moment work is in progress.
 * Free capacity is the sequences not running a job, less the jobs already queued for them:
 * granting more would only make deliveries wait here while another core sits idle. With BullMQ
 * the waiting jobs are the shared queue's, which any core may take; counting all of them against
 * every core under-grants a little while a backlog drains, never over-grants. The Relay then
 * sends new conversations to the core with the most free credits.
 *
 * @example
 * creditWindow({ sequences: 4, running: 1, waiting: 0, held: 1 }); // 4: one held, three free
 */
export function creditWindow(capacity: Capacity): number {
  const free = Math.max(0, capacity.sequences - capacity.running - capacity.waiting);
  return Math.min(MAX_CREDITS, Math.max(0, capacity.held) + free);
}

/** {@link creditWindow} from a queue's live counts. */
export async function queueCreditWindow(queue: JobQueue<unknown>, options: { sequences: number; held: number }): Promise<number> {
  const { running, waiting } = await queue.counts();
  return creditWindow({ ...options, running, waiting });
}
