/**
 * How a retry's wait is spread: `full` is uniform in [0, ceiling] (many clients retrying after
 * one outage spread out instead of arriving in lockstep), `half` uniform in [ceiling/2, ceiling]
 * (spread, but never much sooner than planned), `none` the ceiling itself (a schedule to test).
 */
export type Jitter = 'full' | 'half' | 'none';

export interface BackoffOptions {
  baseMs: number;
  /** The most any wait grows to. */
  capMs?: number;
  jitter?: Jitter;
  random?: () => number;
}

/**
 * The wait before retry number `attempt` (0 for the first retry): `baseMs * 2^attempt`, at most
 * `capMs`, spread by `jitter`; in whole milliseconds. The one exponential backoff of the edge
 * and the core.
 *
 * @example
 * backoffMs(3, { baseMs: 500, capMs: 30_000 }) // 4000
 */
export function backoffMs(attempt: number, { baseMs, capMs = Number.POSITIVE_INFINITY, jitter = 'none', random = Math.random }: BackoffOptions): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  const spread = jitter === 'full' ? random() : jitter === 'half' ? 0.5 + random() / 2 : 1;
  return Math.round(ceiling * spread);
}
