import { describe, expect, it } from 'vitest';
import { RecentTimes } from '../src/relay/recent-times.js';

describe('RecentTimes', () => {
  it('remembers the last time per key', () => {
    const times = new RecentTimes(1_000);
    times.set('a', 10);
    times.set('a', 20);
    expect(times.get('a')).toBe(20);
    expect(times.get('b')).toBeUndefined();
  });

  it('stays bounded: past its check size, entries older than the window are dropped, fresh ones kept', () => {
    const times = new RecentTimes(1_000, 100);
    for (let i = 0; i < 100; i++) times.set(`old-${i}`, 0);
    for (let i = 0; i < 50; i++) times.set(`fresh-${i}`, 5_000 + i);
    expect(times.size).toBeLessThan(100);
    expect(times.get('old-0')).toBeUndefined();
    expect(times.get('fresh-49')).toBe(5_049);
    // Within the check size nothing is dropped, however old.
    const small = new RecentTimes(1_000, 100);
    small.set('x', 0);
    small.set('y', 10_000);
    expect(small.get('x')).toBe(0);
  });
});
