/**
 * Discord's rate-limit buckets as its headers describe them: a call that leaves one empty
 * (`X-RateLimit-Remaining: 0`) holds the next one into it for `X-RateLimit-Reset-After`, rather
 * than earning a 429. In memory, like the outbox's pacing: the Relay is the only sender, and
 * after a restart the worst case is one 429, which is honoured too.
 */
const emptyUntil = new Map<string, number>();

/** Buckets remembered at most; expired ones go first. */
const MAX_BUCKETS = 1_000;

/** Milliseconds until `bucket` takes a call again; 0 when it does now. */
export function bucketWait(bucket: string, now = Date.now()): number {
  const until = emptyUntil.get(bucket) ?? 0;
  if (until > now) return until - now;
  emptyUntil.delete(bucket);
  return 0;
}

/** Reads what a response says of its bucket. */
export function noteBucket(bucket: string, headers: Headers, now = Date.now()): void {
  if (headers.get('x-ratelimit-remaining') !== '0') return;
  const seconds = Number(headers.get('x-ratelimit-reset-after'));
  if (!Number.isFinite(seconds) || seconds <= 0) return;
  if (emptyUntil.size >= MAX_BUCKETS) for (const [key, until] of emptyUntil) if (until <= now) emptyUntil.delete(key);
  emptyUntil.set(bucket, now + Math.ceil(seconds * 1000));
}
