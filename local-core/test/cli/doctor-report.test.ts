import { describe, expect, it } from 'vitest';
import { SKEW_FAIL_MS, SKEW_WARN_MS, classifySkew, clockSkewMs, fail, formatChecks, ok, warn } from '../../src/cli/doctor-report.js';

describe('clock skew', () => {
  const t0 = Date.UTC(2025, 6, 1, 12, 0, 0);
  const header = (ms: number) => new Date(ms).toUTCString();

  it('is 0 when the whole-second Date fits within the round trip', () => {
    // The edge stamped 12:00:00 while we waited from 12:00:00.400 to 12:00:00.900: its true time could be 12:00:00.500.
    expect(clockSkewMs(header(t0), t0 + 400, t0 + 900)).toBe(0);
    // Truncated to the second: stamped "12:00:00" at 12:00:00.950, read by us at 12:00:01.000, is no skew.
    expect(clockSkewMs(header(t0), t0 + 900, t0 + 1000)).toBe(0);
    // Stamped "11:59:59" while we were already past 12:00:00: at least 1 ms behind.
    expect(clockSkewMs(header(t0 - 1000), t0, t0 + 20)).toBe(-1);
  });

  it('counts only what the round trip and the rounding cannot explain, with its sign', () => {
    expect(clockSkewMs(header(t0 + 40_000), t0, t0 + 200)).toBe(40_000 - 200);
    expect(clockSkewMs(header(t0 - 15_000), t0, t0 + 200)).toBe(-15_000 + 999);
  });

  it('is unknown without a readable Date header', () => {
    expect(clockSkewMs(null, t0, t0)).toBeUndefined();
    expect(clockSkewMs('yesterday-ish', t0, t0)).toBeUndefined();
  });

  it('is ok up to 10 s, a warning up to 30 s (the tunnel tokens allowance), a failure past it, either way', () => {
    expect(classifySkew(0)).toBe('ok');
    expect(classifySkew(SKEW_WARN_MS)).toBe('ok');
    expect(classifySkew(SKEW_WARN_MS + 1)).toBe('warn');
    expect(classifySkew(-SKEW_WARN_MS - 1)).toBe('warn');
    expect(classifySkew(SKEW_FAIL_MS)).toBe('warn');
    expect(classifySkew(SKEW_FAIL_MS + 1)).toBe('fail');
    expect(classifySkew(-120_000)).toBe('fail');
  });
});

describe('formatChecks', () => {
  it('marks each check, puts the fix under what failed, and sums up', () => {
    const text = formatChecks([
      ok('node', 'Node.js', '22.1.0'),
      warn('gpu', 'GPU backend', 'cpu', 'install a driver'),
      fail('edge', 'edge', 'cannot reach it', 'start it'),
    ]);
    expect(text.split('\n')).toEqual([
      '✓ Node.js      22.1.0',
      '! GPU backend  cpu',
      '               fix: install a driver',
      '✗ edge         cannot reach it',
      '               fix: start it',
      '',
      '1 failed, 1 to look at, 1 ok: fix the failures above, then run hearth doctor again',
      '',
    ]);
    expect(formatChecks([ok('node', 'Node.js', 'fine')])).toContain('all good: 1 ok');
  });
});
