/**
 * When something last happened, per key, for rules like "at most once every N ms per
 * conversation", in memory and bounded: an entry older than `forgetAfterMs` says nothing any
 * more, so once there are more than `checkSize` entries the stale ones are dropped.
 *
 * @example
 * const typed = new RecentTimes(4_000);
 * if (now - (typed.get(chat) ?? 0) >= 4_000) { typed.set(chat, now); showTyping(chat); }
 */
export class RecentTimes {
  private readonly times = new Map<string, number>();

  constructor(
    private readonly forgetAfterMs: number,
    private readonly checkSize = 5_000,
  ) {}

  get(key: string): number | undefined {
    return this.times.get(key);
  }

  set(key: string, at: number): void {
    this.times.set(key, at);
    if (this.times.size <= this.checkSize) return;
    for (const [k, t] of this.times) if (at - t >= this.forgetAfterMs) this.times.delete(k);
  }

  get size(): number {
    return this.times.size;
  }
}
