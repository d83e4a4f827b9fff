import { describe, expect, it } from 'vitest';
import { afterSummary, foldCount } from '../src/inference/compaction.js';

const exchanges = (n: number) => Array.from({ length: n }, (_, i) => [{ role: 'user' as const, messageId: `u${i}` }, { role: 'assistant' as const, messageId: `a${i}` }]).flat();

describe('compaction: what is folded', () => {
  it('folds nothing while the turns fit the budget and the window', () => {
    const live = exchanges(3);
    expect(foldCount(live, live.map(() => 10), { budget: 100, target: 40, summary: 0, window: 24 })).toBe(0);
  });

  it('folds whole exchanges from the oldest until the rest fits the target, the newest exchange always kept', () => {
    const live = exchanges(6);
    const costs = live.map(() => 10);
    // 120 tokens over a budget of 100: fold until at most 40 remain (4 turns).
    expect(foldCount(live, costs, { budget: 100, target: 40, summary: 0, window: 24 })).toBe(8);
    // A target nothing reaches: everything but the newest exchange.
    expect(foldCount(live, costs, { budget: 100, target: 0, summary: 0, window: 24 })).toBe(10);
    // The summary counts toward the budget.
    expect(foldCount(exchanges(2), [10, 10, 10, 10], { budget: 50, target: 20, summary: 15, window: 24 })).toBe(2);
  });

  it('folds before memory\'s window would drop a turn, down to half of it', () => {
    const live = exchanges(12);
    expect(foldCount(live, live.map(() => 1), { budget: 1_000, target: 1_000, summary: 0, window: 24 })).toBe(12);
  });

  it('gives the model the turns after the one the summary ends with (all of them when it is older than the window)', () => {
    const live = exchanges(3);
    expect(afterSummary(live, 'a0').map((turn) => turn.messageId)).toEqual(['u1', 'a1', 'u2', 'a2']);
    expect(afterSummary(live, 'older')).toHaveLength(6);
    expect(afterSummary(live, undefined)).toHaveLength(6);
  });
});
