import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLIENT_AUDIENCE, CORE_CLIENT_ISSUER, MAX_CLIENT_TOKEN_TTL_SECONDS, type CoreKeySet, publicKeySet } from '@hearth/shared';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readKeySet, writeNewKeySet } from '../../src/keys/key-store.js';
import { type CliRun, runHearth, tempDir } from '../support.js';

const BUILT = resolve(import.meta.dirname, '../../dist/cli/token.js');

let dir: string;
let cleanup: () => Promise<void>;
let keySet: CoreKeySet;

function hearth(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return runHearth(args, { cwd: dir, env: { HEARTH_KEY_FILE: join(dir, 'core-key.json'), HEARTH_DATA_DIR: join(dir, 'data'), ...env } });
}

const verify = async (token: string) =>
  jwtVerify(token, createLocalJWKSet(publicKeySet(keySet)), { algorithms: ['ES256'], issuer: CORE_CLIENT_ISSUER, audience: CLIENT_AUDIENCE });

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
  await writeNewKeySet(join(dir, 'core-key.json'));
  keySet = await readKeySet(join(dir, 'core-key.json'));
});
afterAll(() => cleanup());

describe('hearth token issue and list (the real CLI, spawned)', { timeout: 60_000 }, () => {
  it('prints only a token the core key verifies, with the default scopes and 30 days, and says what it issued on stderr', async () => {
    const before = Math.floor(Date.now() / 1000);
    const run = await hearth(['token', 'issue', '--user', 'ada']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload, protectedHeader } = await verify(run.stdout.trim());
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'ada', scope: 'chat:read chat:write sync' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(30 * 86_400);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(run.stderr).toBe(
      `issued a token for ada, scopes chat:read,chat:write,sync, expires ${new Date((payload.exp ?? 0) * 1000).toISOString().replace(/\.\d+Z$/, 'Z')}, jti ${payload.jti}\n`,
    );
  });

  it('signs for the edge\'s audience: HEARTH_CLIENT_AUDIENCE from the environment, or --audience', async () => {
    const fromEnv = await hearth(['token', 'issue', '--user', 'ada'], { HEARTH_CLIENT_AUDIENCE: 'https://hearth.example' });
    const flagged = await hearth(['token', 'issue', '--user', 'ada', '--audience', 'urn:home']);
    const audienceOf = async (token: string, audience: string) =>
      (await jwtVerify(token, createLocalJWKSet(publicKeySet(keySet)), { algorithms: ['ES256'], audience })).payload.aud;
    expect(await audienceOf(fromEnv.stdout.trim(), 'https://hearth.example')).toBe('https://hearth.example');
    expect(await audienceOf(flagged.stdout.trim(), 'urn:home')).toBe('urn:home');
  });

  it.each(['hearth:tunnel', 'hearth:admin'])('refuses the core\'s own audience %s, by flag or from HEARTH_CLIENT_AUDIENCE: exit 1, no token, nothing recorded', async (audience) => {
    const flagged = await hearth(['token', 'issue', '--user', 'mallory', '--audience', audience]);
    const fromEnv = await hearth(['token', 'issue', '--user', 'mallory'], { HEARTH_CLIENT_AUDIENCE: audience });
    for (const [run, source] of [[flagged, "option '--audience <aud>' argument '.*' is invalid\\. the audience"], [fromEnv, 'HEARTH_CLIENT_AUDIENCE']] as const) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(new RegExp(`${source} cannot be ${audience}: hearth:tunnel and hearth:admin are reserved for the core's own tokens`));
    }
    const list = await hearth(['token', 'list', '--json']);
    expect(JSON.parse(list.stdout)).not.toContainEqual(expect.objectContaining({ user: 'mallory' }));
  });

  it('grants the scopes and lifetime asked for, and records each token (never the token) for token list', async () => {
    const run = await hearth(['token', 'issue', '--user', 'bob.phone', '--scopes', 'chat:read, sync,chat:read', '--ttl', '12h']);
    expect(run.code).toBe(0);
    const token = run.stdout.trim();
    const { payload } = await verify(token);
    expect(payload).toMatchObject({ sub: 'bob.phone', scope: 'chat:read sync' });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(12 * 3_600);

    const list = await hearth(['token', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(list.stdout).not.toContain(token);
    expect(list.stdout).not.toContain(token.split('.')[2]);
    const records = JSON.parse(list.stdout) as { jti: string }[];
    expect(records).toContainEqual({
      jti: payload.jti,
      user: 'bob.phone',
      scopes: ['chat:read', 'sync'],
      issued_at: payload.iat,
      expires_at: payload.exp,
      revoked_at: null,
    });
    const text = await hearth(['token', 'list']);
    expect(text.stdout).toMatch(new RegExp(`^${payload.jti}  bob\\.phone  chat:read,sync  issued \\S+  valid until \\S+$`, 'm'));
  });

  it.each([
    [['--user', 'ada:phone'], /option '--user <id>' argument 'ada:phone' is invalid\. a user id is 1-64 characters/],
    [['--user', 'ada', '--scopes', 'chat:read,root'], /option '--scopes <list>' argument 'chat:read,root' is invalid\. unknown scope root; the scopes are chat:write, chat:read, sync, admin/],
    [['--user', 'ada', '--scopes', ','], /option '--scopes <list>' argument ',' is invalid\. give at least one scope/],
    [['--user', 'ada', '--ttl', '30'], /option '--ttl <duration>' argument '30' is invalid\. a duration is a whole number and a unit/],
    [['--user', 'ada', '--ttl', `${MAX_CLIENT_TOKEN_TTL_SECONDS / 86_400 + 1}d`], /option '--ttl <duration>' argument '367d' is invalid\. a token lives from 1s to 366d/],
    [['--user', 'ada', '--ttl', '0s'], /option '--ttl <duration>' argument '0s' is invalid/],
    [[], /required option '--user <id>' not specified/],
  ])('refuses %j, naming the flag, exit 1 and no token', async (args, message) => {
    const run = await hearth(['token', 'issue', ...args]);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
  });

  it('says how to make a key when there is none', async () => {
    const run = await hearth(['token', 'issue', '--user', 'ada'], { HEARTH_KEY_FILE: join(dir, 'missing.json') });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/no core key at .*missing\.json \(HEARTH_KEY_FILE\): run `npx hearth keygen`/);
  });
});
