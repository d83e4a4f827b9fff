/**
 * Token buckets by key, in memory: each key may spend `perMinute` requests a minute, in bursts
 * of up to as many. Kept in the Relay's memory, not storage: a limit that forgets after the
 * object sleeps costs nothing worth a write per request. Bounded: past `maxKeys`, buckets that
 * have refilled completely (they hold no information) are dropped.
 *
 * @example
 * const limiter = new RateLimiter(60);
 * const wait = limiter.take('user:ada', Date.now()); // 0: go; else ms until one is free
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one request for `key`: 0 when allowed, else how many ms until it would be. */
  take(key: string, now: number): number {
    const bucket = this.refilled(key, now);
    if (bucket.tokens < 1) return Math.ceil((1 - bucket.tokens) / this.ratePerMs);
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.forgetFull(now);
    return 0;
  }

  /** How long `key` must wait, without taking anything. */
  wait(key: string, now: number): number {
    const bucket = this.refilled(key, now);
    return bucket.tokens < 1 ? Math.ceil((1 - bucket.tokens) / this.ratePerMs) : 0;
  }

  private get ratePerMs(): number {
    return this.perMinute / 60_000;
  }

  private refilled(key: string, now: number): { tokens: number; at: number } {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.perMinute, at: now };
    return { tokens: Math.min(this.perMinute, bucket.tokens + (now - bucket.at) * this.ratePerMs), at: now };
  }

  private forgetFull(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.ratePerMs >= this.perMinute) this.buckets.delete(key);
    }
  }
}
