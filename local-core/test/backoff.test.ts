import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/tunnel/backoff.js';

describe('backoffDelay', () => {
  it('grows exponentially up to the cap, scaled by the jitter', () => {
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, 500, 30_000, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(20, 500, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(3, 500, 30_000, () => 0.5)).toBe(2000);
    expect(backoffDelay(3, 500, 30_000, () => 0)).toBe(0);
  });
});
