import type { LearningStore, RatedReply } from './store.js';

/** A share with its 95% Wilson score interval (sound for small counts, unlike p ± 1.96·se). */
export interface Share {
  value: number | null;
  low: number | null;
  high: number | null;
}

/** Per variant: what it answered, how people rated it, how fast. */
export interface VariantReport {
  variant: string;
  replies: number;
  /** Replies with at least one rating. */
  rated: number;
  /** rated / replies */
  feedback_rate: number | null;
  ups: number;
  downs: number;
  /** 👍 among ratings, with its 95% Wilson interval. */
  up_share: Share;
  /** Delivery to ack (ms), where known. */
  latency_ms: { p50: number | null; p95: number | null };
  /** Tokens generated over time generating, all its replies together. */
  tokens_per_second: number | null;
}

/** One time bucket of the plot: replies and 👍 share per variant. */
export interface ReportBucket {
  start: number;
  variants: Record<string, { replies: number; ups: number; downs: number }>;
}

export interface ExperimentReport {
  since: number;
  until: number;
  promoted: string | null;
  variants: VariantReport[];
  buckets: ReportBucket[];
  bucket_ms: number;
}

const Z95 = 1.959_963_984_540_054;

/**
 * The Wilson score interval of `successes` out of `trials` at 95%.
 *
 * @example
 * wilson(8, 10) // { value: 0.8, low: 0.49, high: 0.94 }
 */
export function wilson(successes: number, trials: number, z = Z95): Share {
  if (trials === 0) return { value: null, low: null, high: null };
  const p = successes / trials;
  const z2 = z * z;
  const centre = (p + z2 / (2 * trials)) / (1 + z2 / trials);
  const half = (z / (1 + z2 / trials)) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The q-quantile (0..1) of `values` by nearest rank; null when there are none. */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? null;
}

/** A bucket size giving 10-60 points over the span: an hour, 6 hours or a day (a minute for short spans). */
function bucketFor(span: number): number {
  for (const ms of [60_000, 600_000, 3_600_000, 6 * 3_600_000, 86_400_000]) if (span / ms <= 60) return ms;
  return 7 * 86_400_000;
}

/** Per-variant figures of the replies given in [since, until), from the core's SQLite. */
export function experimentReport(store: LearningStore, options: { since?: number; until?: number; variants?: readonly string[] } = {}): ExperimentReport {
  const until = options.until ?? Date.now();
  const replies = store.ratedReplies(options.since ?? 0, until);
  const since = options.since ?? replies[0]?.createdAt ?? until;
  const byVariant = new Map<string, RatedReply[]>();
  for (const name of options.variants ?? []) byVariant.set(name, []);
  for (const reply of replies) byVariant.set(reply.variant, [...(byVariant.get(reply.variant) ?? []), reply]);

  const variants = [...byVariant].map(([variant, list]): VariantReport => {
    // One vote per reply: its majority (a reply rated by several users in a group counts once).
    const ups = list.filter((r) => r.ups > r.downs).length;
    const downs = list.filter((r) => r.downs > r.ups).length;
    const rated = list.filter((r) => r.ups + r.downs > 0).length;
    const latencies = list.flatMap((r) => (r.latencyMs === null ? [] : [r.latencyMs]));
    const tokens = list.reduce((sum, r) => sum + r.tokens, 0);
    const seconds = list.reduce((sum, r) => sum + r.generationMs, 0) / 1000;
    return {
      variant,
      replies: list.length,
      rated,
      feedback_rate: list.length === 0 ? null : rated / list.length,
      ups,
      downs,
      up_share: wilson(ups, ups + downs),
      latency_ms: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
      tokens_per_second: seconds > 0 ? tokens / seconds : null,
    };
  });

  const bucketMs = bucketFor(until - since);
  const buckets = new Map<number, ReportBucket>();
  for (const reply of replies) {
    const start = Math.floor(reply.createdAt / bucketMs) * bucketMs;
    const bucket = buckets.get(start) ?? { start, variants: {} };
    const counts = bucket.variants[reply.variant] ?? { replies: 0, ups: 0, downs: 0 };
    bucket.variants[reply.variant] = counts;
    counts.replies++;
    if (reply.ups > reply.downs) counts.ups++;
    else if (reply.downs > reply.ups) counts.downs++;
    buckets.set(start, bucket);
  }
  return {
    since,
    until,
    promoted: store.promotion().variant,
    variants,
    buckets: [...buckets.values()].sort((a, b) => a.start - b.start),
    bucket_ms: bucketMs,
  };
}

const pct = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null, digits = 0) => (x === null ? '-' : x.toFixed(digits));

/** The report as a table for people (`hearth experiments report`). */
export function formatReport(report: ExperimentReport): string {
  const header = ['variant', 'replies', 'rated', 'feedback', '👍', '👎', '👍 share (95% CI)', 'p50 ms', 'p95 ms', 'tokens/s'];
  const rows = report.variants.map((v) => [
    `${v.variant}${v.variant === report.promoted ? ' *' : ''}`,
    String(v.replies),
    String(v.rated),
    pct(v.feedback_rate),
    String(v.ups),
    String(v.downs),
    v.up_share.value === null ? '-' : `${pct(v.up_share.value)} (${pct(v.up_share.low)}-${pct(v.up_share.high)})`,
    num(v.latency_ms.p50),
    num(v.latency_ms.p95),
    num(v.tokens_per_second, 1),
  ]);
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat((widths[i] ?? 0) - [...c].length)).join('  ').trimEnd();
  const span = `${new Date(report.since).toISOString()} to ${new Date(report.until).toISOString()}`;
  const promoted = report.promoted ? `promoted: ${report.promoted} (*) answers everyone\n` : 'no variant promoted: the experiment split answers\n';
  if (rows.length === 0) return `no replies recorded ${span}\n${promoted}`;
  return `${[line(header), ...rows.map(line)].join('\n')}\n\n${span}\n${promoted}`;
}
