import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type CoreFrame, MAX_CLIENT_TOKEN_TTL_SECONDS } from '@hearth/shared';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { type CliRun, runHearth, tempDir } from '../support.js';
import { type LoopbackEdge, startLoopbackEdge } from '../tunnel/loopback-edge.js';

/**
 * `hearth token revoke`'s argument handling and what it tells the edge. The edge here is the
 * loopback stand-in (test/tunnel/loopback-edge.ts), a fake of our own edge that answers
 * `access` frames: whether the real Relay then refuses the token is the e2e test's to show.
 */
const BUILT = resolve(import.meta.dirname, '../../dist/cli/token.js');

let dir: string;
let cleanup: () => Promise<void>;
let edge: LoopbackEdge;
/** Tokens the stand-in has revoked (a repeat is answered token_revoked: false), and ones it refuses to. */
const revokedAtEdge = new Set<string>();
const refused = new Set<string>();

function hearth(args: string[]): Promise<CliRun> {
  const env = { HEARTH_KEY_FILE: join(dir, 'core-key.json'), HEARTH_DATA_DIR: join(dir, 'data'), HEARTH_EDGE_URL: edge.url, HEARTH_CORE_ID: 'home' };
  return runHearth(args, { cwd: dir, env });
}

async function issue(user: string): Promise<{ token: string; jti: string; exp: number }> {
  const run = await hearth(['token', 'issue', '--user', user]);
  expect(run.code).toBe(0);
  const token = run.stdout.trim();
  const claims = decodeJwt(token);
  return { token, jti: String(claims.jti), exp: Number(claims.exp) };
}

/** The revoke_token commands the stand-in received, in order. */
const revokeCommands = () =>
  edge.received.flatMap((frame) => (frame.type === 'access' && frame.command.action === 'revoke_token' ? [frame.command] : []));

const listed = async () => JSON.parse((await hearth(['token', 'list', '--json'])).stdout) as { jti: string; revoked_at: number | null }[];

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
  await writeNewKeySet(join(dir, 'core-key.json'));
  edge = await startLoopbackEdge((frame: CoreFrame) => {
    if (frame.type !== 'access' || frame.command.action !== 'revoke_token') return undefined;
    const { jti } = frame.command;
    if (refused.has(jti)) return [{ type: 'access_result', request_id: frame.request_id, ok: false, error: 'storage unavailable' }];
    const fresh = !revokedAtEdge.has(jti);
    revokedAtEdge.add(jti);
    return [{ type: 'access_result', request_id: frame.request_id, ok: true, token_revoked: fresh }];
  });
});
afterAll(async () => {
  await edge?.close();
  await cleanup();
});

describe('hearth token revoke (the real CLI, against a loopback stand-in for the edge)', { timeout: 60_000 }, () => {
  it("sends the token's jti and exp over an owner session that serves no history, and marks it revoked here", async () => {
    const { token, jti, exp } = await issue('ada');
    const run = await hearth(['token', 'revoke', token]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`revoked ${jti} (ada): the edge refuses it from now on\n`);
    expect(revokeCommands().at(-1)).toEqual({ action: 'revoke_token', jti, expires_at: exp });
    const hello = edge.received.findLast((frame) => frame.type === 'hello');
    expect(hello).toMatchObject({ core_id: 'home.owner', credits: 0 });
    expect(hello).not.toHaveProperty('serves_history');
    expect((await listed()).find((t) => t.jti === jti)?.revoked_at).toEqual(expect.any(Number));
  });

  it('takes a jti, with the expiry from the local record, and says so when the edge had it revoked already', async () => {
    const { jti, exp } = await issue('ada');
    expect((await hearth(['token', 'revoke', jti])).code).toBe(0);
    expect(revokeCommands().at(-1)).toEqual({ action: 'revoke_token', jti, expires_at: exp });
    const again = await hearth(['token', 'revoke', jti, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual([{ jti, expires_at: exp, user: 'ada', token_revoked: false }]);
  });

  it('keeps the revocation as long as any token may live for a jti it has no record of', async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await hearth(['token', 'revoke', 'issued-elsewhere-1']);
    expect(run.code).toBe(0);
    const sent = revokeCommands().at(-1);
    expect(sent?.jti).toBe('issued-elsewhere-1');
    expect(sent?.expires_at).toBeGreaterThanOrEqual(before + MAX_CLIENT_TOKEN_TTL_SECONDS);
    expect(sent?.expires_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + MAX_CLIENT_TOKEN_TTL_SECONDS);
  });

  it("revokes every valid token of a user with --user, and none of anyone else's", async () => {
    const first = await issue('carol');
    const second = await issue('carol');
    const other = await issue('dave');
    const run = await hearth(['token', 'revoke', '--user', 'carol', '--json']);
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { jti: string }[]).map((o) => o.jti).sort()).toEqual([first.jti, second.jti].sort());
    expect(revokeCommands().map((c) => c.jti)).not.toContain(other.jti);
    const none = await hearth(['token', 'revoke', '--user', 'carol']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('hearth: no valid tokens issued here for carol (hearth token list)\n');
  });

  it('fails, and marks nothing, when the edge refuses', async () => {
    const { jti } = await issue('erin');
    refused.add(jti);
    const run = await hearth(['token', 'revoke', jti]);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`hearth: the edge did not revoke ${jti}: storage unavailable\n`);
    expect((await listed()).find((t) => t.jti === jti)?.revoked_at).toBeNull();
  });

  it.each([
    [[], /give a token or its jti, or --user ID, one of the two/],
    [['some-jti', '--user', 'ada'], /give a token or its jti, or --user ID, one of the two/],
    [['--user', 'a:b'], /option '--user <id>' argument 'a:b' is invalid/],
    [['not.a.token'], /that looks like a token but cannot be decoded/],
  ])('refuses %j before dialling the edge', async (args, message) => {
    const sessions = edge.received.filter((frame) => frame.type === 'hello').length;
    const run = await hearth(['token', 'revoke', ...args]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(edge.received.filter((frame) => frame.type === 'hello').length).toBe(sessions);
  });
});
