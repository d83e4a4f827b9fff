/**
 * Counters of what the Relay did since its object woke: cheap (in memory, no storage write on
 * the hot path) and enough for `hearth status` to show activity; the logs keep every event.
 * An evicted object starts again from zero, which the status shows with its `since`.
 */
export class RelayCounters {
  private readonly values = new Map<string, number>();

  add(name: string, by = 1): void {
    if (by === 0) return;
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.values].sort(([a], [b]) => a.localeCompare(b)));
  }
}
