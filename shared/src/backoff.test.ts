import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.js';

describe('backoffMs', () => {
  it('doubles from the base up to the cap', () => {
    expect([0, 1, 2, 3].map((n) => backoffMs(n, { baseMs: 500, capMs: 30_000 }))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffMs(20, { baseMs: 500, capMs: 30_000 })).toBe(30_000);
    expect(backoffMs(40, { baseMs: 1000 })).toBe(1000 * 2 ** 40);
    expect(backoffMs(-1, { baseMs: 500 })).toBe(500);
  });

  it('spreads the wait: full jitter over [0, ceiling], half over [ceiling/2, ceiling]', () => {
    expect(backoffMs(3, { baseMs: 500, jitter: 'full', random: () => 0 })).toBe(0);
    expect(backoffMs(3, { baseMs: 500, jitter: 'full', random: () => 0.5 })).toBe(2000);
    expect(backoffMs(3, { baseMs: 500, jitter: 'half', random: () => 0 })).toBe(2000);
    expect(backoffMs(3, { baseMs: 500, jitter: 'half', random: () => 1 })).toBe(4000);
  });
});
