import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseSince } from '../../src/cli/learning-db.js';
import { runHearth, tempDir } from '../support.js';

describe('--since', () => {
  const now = Date.UTC(2026, 11, 1, 12);
  it('takes a duration back from now or a date', () => {
    expect(parseSince('30m', now)).toBe(now - 30 * 60_000);
    expect(parseSince('24h', now)).toBe(now - 86_400_000);
    expect(parseSince('7d', now)).toBe(now - 7 * 86_400_000);
    expect(parseSince('2026-11-01', now)).toBe(Date.UTC(2026, 10, 1));
    expect(parseSince('2026-11-01T12:00:00Z', now)).toBe(Date.UTC(2026, 10, 1, 12));
    for (const bad of ['yesterday', '7x', '', 'Nov 1']) expect(() => parseSince(bad, now)).toThrow(/duration back from now/);
  });
});

describe('hearth experiments / feedback / dataset (the CLI, on a fresh data folder)', () => {
  let dir: { dir: string; cleanup: () => Promise<void> };
  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.cleanup());
  const hearth = (...args: string[]) => runHearth(args, { cwd: dir.dir, env: { HEARTH_DATA_DIR: `${dir.dir}/data` } });

  it('promotes a configured variant, refuses an unknown one by name, and reports', async () => {
    const promoted = await hearth('experiments', 'promote', 'default', '--json');
    expect(promoted.code).toBe(0);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ variant: 'default', version: 1 });
    const unknown = await hearth('experiments', 'promote', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no variant "nope"; there are: default');
    const report = await hearth('experiments', 'report', '--json');
    expect(JSON.parse(report.stdout)).toMatchObject({ promoted: 'default', variants: [{ variant: 'default', replies: 0 }] });
    expect((await hearth('feedback', 'list', '--json')).stdout.trim()).toBe('[]');
    const exported = await hearth('dataset', 'export', '--format', 'jsonl');
    expect(exported).toMatchObject({ code: 0, stdout: '' });
    expect(exported.stderr).toContain('exported 0 examples');
    expect((await hearth('dataset', 'export', '--format', 'csv')).code).not.toBe(0);
  });
});
