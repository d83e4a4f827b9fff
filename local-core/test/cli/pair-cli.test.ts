import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CoreFrame } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { type CliRun, runHearth, tempDir } from '../support.js';
import { type LoopbackEdge, startLoopbackEdge } from '../tunnel/loopback-edge.js';

/**
 * `hearth pair list` as the owner runs it, against the loopback stand-in of our edge (it answers
 * the `list` command as the Relay does): whether the Relay counts what it turns away is the
 * edge's test to show (edge-worker/test/defaults/pairing-limit.test.ts); here, that the owner sees it.
 */
const BUILT = resolve(import.meta.dirname, '../../dist/cli/pair.js');

const since = Date.UTC(2026, 10, 20, 8, 0, 0);
const last = Date.UTC(2026, 10, 25, 11, 30, 0);
const refusals = [
  { reason: 'evicted', count: 40, since, last_at: last },
  { reason: 'source_pending', count: 12, since, last_at: last },
];

let dir: string;
let cleanup: () => Promise<void>;
let edge: LoopbackEdge;

function hearth(args: string[]): Promise<CliRun> {
  const env = { HEARTH_KEY_FILE: join(dir, 'core-key.json'), HEARTH_DATA_DIR: join(dir, 'data'), HEARTH_EDGE_URL: edge.url, HEARTH_CORE_ID: 'home' };
  return runHearth(args, { cwd: dir, env });
}

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
  await writeNewKeySet(join(dir, 'core-key.json'));
  edge = await startLoopbackEdge((frame: CoreFrame) => {
    if (frame.type !== 'access' || frame.command.action !== 'list') return undefined;
    return [
      {
        type: 'access_result',
        request_id: frame.request_id,
        ok: true,
        pending: [{ code: 'ABCD-EFGH', sender: 'telegram:-1007221', name: 'Channel', expires_at: Date.UTC(2026, 10, 25, 12, 0, 0) }],
        senders: [],
        refusals,
      },
    ];
  });
});
afterAll(async () => {
  await edge?.close();
  await cleanup();
});

describe('hearth pair list', () => {
  it('tells the owner how many codes the edge refused or evicted, per reason and since when', async () => {
    const run = await hearth(['pair', 'list']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')).toEqual([
      'waiting for approval (hearth pair approve CODE):',
      '  ABCD-EFGH  telegram:-1007221 (Channel)  expires 2026-11-25T12:00:00Z',
      'nobody approved by pairing yet',
      'codes turned away (many mean someone is flooding pairing):',
      '  40 since 2026-11-20T08:00:00Z, last 2026-11-25T11:30:00Z  evicted: the oldest code, dropped for a newer one (HEARTH_PAIRING_MAX_PENDING were waiting)',
      '  12 since 2026-11-20T08:00:00Z, last 2026-11-25T11:30:00Z  refused: their group or channel already had a code waiting',
      '',
    ]);
  });

  it('keeps the counts in --json', async () => {
    const run = await hearth(['pair', 'list', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, refusals });
  });
});
