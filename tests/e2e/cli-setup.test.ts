import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { CoreKeySetSchema, parseEdgeConfig, publicKeySet } from '@hearth/shared';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CoreProcess, HEARTH_BIN } from '../support/core-process.js';
import { TEST_MODEL, freePort, startSystem, type System } from '../support/system.js';

/**
 * `hearth init` and `hearth doctor` as a user runs them: the real CLI in a fresh working
 * folder (where `.env` is read and written), `doctor` against the real edge under workerd.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-setup-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The edge settings file init writes here: never the checkout's own edge-worker/.dev.vars. */
const devVarsPath = () => join(dir, 'edge-worker', '.dev.vars');
const keyPath = () => join(dir, '.hearth', 'core-key.json');

async function hearth(args: string[], env: Record<string, string> = {}) {
  const run = new CoreProcess(env, args, { cwd: dir });
  const code = await run.exited;
  return { code, stdout: run.stdout, output: run.raw.join('\n') };
}
const init = (...args: string[]) => hearth(['init', '--dev-vars', devVarsPath(), ...args]);
const readVars = async (path: string) => parseEnv(await readFile(path, 'utf8'));
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('hearth init', () => {
  it('--yes writes the key, .env and .dev.vars (0600, public key only) and prints the deployment steps', async () => {
    const { code, stdout, output } = await init('--yes');
    expect(code, output).toBe(0);

    const key = CoreKeySetSchema.parse(JSON.parse(await readFile(keyPath(), 'utf8')));
    expect(await mode(keyPath())).toBe(0o600);
    const coreVars = await readVars(join(dir, '.env'));
    expect(coreVars).toEqual({ HEARTH_EDGE_URL: 'http://127.0.0.1:8787', HEARTH_KEY_FILE: '.hearth/core-key.json', HEARTH_LOG_KEY: expect.stringMatching(/^.{16,}$/) });
    expect(await mode(join(dir, '.env'))).toBe(0o600);

    const vars = await readVars(devVarsPath());
    expect(await mode(devVarsPath())).toBe(0o600);
    const jwks = CoreKeySetSchema.parse(JSON.parse(vars.HEARTH_CORE_JWKS ?? ''));
    expect(jwks).toEqual(publicKeySet(key));
    for (const k of jwks.keys) expect(k).not.toHaveProperty('d');
    expect(vars.TELEGRAM_WEBHOOK_SECRET).toMatch(/^[A-Za-z0-9_-]{16,256}$/);
    // One log pseudonym key at both ends.
    expect(vars.HEARTH_LOG_KEY).toBe(coreVars.HEARTH_LOG_KEY);
    expect(vars).toMatchObject({ TELEGRAM_BOT_TOKEN: '', HEARTH_ACCESS_POLICY: 'pairing' });
    expect(Object.keys(vars).some((name) => name.startsWith('WHATSAPP_'))).toBe(false);
    // Once the bot token is filled in, the edge accepts these settings as they are.
    expect(parseEdgeConfig({ ...vars, TELEGRAM_BOT_TOKEN: '123456:ABC' }).ok).toBe(true);

    for (const name of ['HEARTH_CORE_JWKS', 'TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN']) expect(stdout).toContain(`npx wrangler secret put ${name}`);
    expect(stdout).not.toContain('secret put WHATSAPP');
    expect(stdout).toContain('npx wrangler deploy');
    expect(stdout).toContain('curl "https://api.telegram.org/bot$TELEGRAM_BOT_TOKEN/setWebhook" \\');
    expect(stdout).toContain('-d "url=https://hearth-edge.<you>.workers.dev/webhooks/telegram" \\');
    expect(stdout).toContain('-d "secret_token=$TELEGRAM_WEBHOOK_SECRET" \\');
    expect(stdout).toContain(`-d 'allowed_updates=["message","edited_message","channel_post","callback_query"]'`);
    expect(stdout).toContain('npm run start:core');
    expect(stdout).toContain('TELEGRAM_BOT_TOKEN: from @BotFather');
    expect(output).not.toContain(vars.TELEGRAM_WEBHOOK_SECRET);
    expect(output).not.toContain('"d":');
  });

  it('run again keeps the key, the secrets and the lines it did not write, and shows no secret; --force replaces key and secrets only', async () => {
    expect((await init('--yes')).code).toBe(0);
    const key = await readFile(keyPath(), 'utf8');
    const first = await readVars(devVarsPath());
    await writeFile(devVarsPath(), `${(await readFile(devVarsPath(), 'utf8')).replace('TELEGRAM_BOT_TOKEN=', 'TELEGRAM_BOT_TOKEN=777:my-real-token')}MY_OWN=1\n`);

    // No --yes: stdin is not a terminal here, so it asks nothing rather than hang.
    const again = await init();
    expect(again.code, again.output).toBe(0);
    expect(await readFile(keyPath(), 'utf8')).toBe(key);
    const second = await readVars(devVarsPath());
    expect(second).toEqual({ ...first, TELEGRAM_BOT_TOKEN: '777:my-real-token', MY_OWN: '1' });
    expect(again.stdout).toMatch(/kept HEARTH_CORE_JWKS, TELEGRAM_WEBHOOK_SECRET, TELEGRAM_BOT_TOKEN, HEARTH_ACCESS_POLICY/);
    expect(again.output).not.toContain('my-real-token');
    expect(again.output).not.toContain(first.TELEGRAM_WEBHOOK_SECRET);

    const forced = await init('--yes', '--force');
    expect(forced.code, forced.output).toBe(0);
    expect(await readFile(keyPath(), 'utf8')).not.toBe(key);
    const third = await readVars(devVarsPath());
    expect(third.TELEGRAM_WEBHOOK_SECRET).not.toBe(first.TELEGRAM_WEBHOOK_SECRET);
    expect(third.HEARTH_CORE_JWKS).not.toBe(first.HEARTH_CORE_JWKS);
    expect(third).toMatchObject({ TELEGRAM_BOT_TOKEN: '777:my-real-token', MY_OWN: '1' });
  });

  it('warns, without the value, when the environment would override what .dev.vars holds', async () => {
    expect((await init('--yes')).code).toBe(0);
    const { code, stdout } = await init('--yes', '--json');
    expect(code).toBe(0);
    expect((JSON.parse(stdout) as { warnings: string[] }).warnings).toEqual([]);

    const shadow = 'shadowing-secret-0123456789';
    const shadowed = await hearth(['init', '--yes', '--json', '--dev-vars', devVarsPath()], { TELEGRAM_WEBHOOK_SECRET: shadow });
    expect(shadowed.code).toBe(0);
    expect((JSON.parse(shadowed.stdout) as { warnings: string[] }).warnings).toEqual([
      expect.stringMatching(/^TELEGRAM_WEBHOOK_SECRET is also set in the environment or \.env, and that value wins over edge-worker\/\.dev\.vars/),
    ]);
    expect(shadowed.stdout).not.toContain(shadow);
  });

  it('refuses to replace a key it cannot read without --force', async () => {
    expect((await init('--yes')).code).toBe(0);
    await writeFile(keyPath(), 'not a key');
    const { code, output } = await init('--yes');
    expect(code).toBe(1);
    expect(output).toContain('pass --force');
    expect(await readFile(keyPath(), 'utf8')).toBe('not a key');
  });

  it('--json is a summary for programs without private key material', async () => {
    const { code, stdout, output } = await init('--yes', '--json', '--platform', 'both', '--edge-url', 'https://hearth.example.workers.dev');
    expect(code, output).toBe(0);
    expect(stdout).not.toContain('"d":');
    const summary = JSON.parse(stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      edgeUrl: 'https://hearth.example.workers.dev',
      platforms: ['telegram', 'whatsapp'],
      keyFile: { path: keyPath(), created: true },
      files: {
        core: { path: join(dir, '.env'), written: ['HEARTH_EDGE_URL', 'HEARTH_KEY_FILE', 'HEARTH_LOG_KEY'] },
        edge: { path: devVarsPath(), missing: ['TELEGRAM_BOT_TOKEN', 'WHATSAPP_APP_SECRET', 'WHATSAPP_ACCESS_TOKEN', 'WHATSAPP_PHONE_NUMBER_ID'] },
      },
      commands: {
        deploy: 'npx wrangler deploy',
        startCore: 'npm run start:core',
        telegramSetWebhook: expect.stringContaining('url=https://hearth.example.workers.dev/webhooks/telegram'),
        whatsapp: { callbackUrl: 'https://hearth.example.workers.dev/webhooks/whatsapp', verifyToken: { variable: 'WHATSAPP_VERIFY_TOKEN', file: devVarsPath() }, fields: ['messages'] },
      },
    });
    expect((summary.commands as { secrets: string[] }).secrets).toContain('npx wrangler secret put WHATSAPP_APP_SECRET');
    expect(CoreKeySetSchema.parse(summary.publicJwks)).toEqual(publicKeySet(CoreKeySetSchema.parse(JSON.parse(await readFile(keyPath(), 'utf8')))));
    const vars = await readVars(devVarsPath());
    expect(vars.WHATSAPP_VERIFY_TOKEN).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(stdout).not.toContain(vars.WHATSAPP_VERIFY_TOKEN);
  });

  it('asks, with answers piped in (--interactive), and writes what was answered', async () => {
    const answers = ['https://hearth.example.workers.dev', 'telegram', '123456:ABC-interactive', '@hearth_bot', 'allowlist', 'telegram:42, telegram:43'];
    const child = spawn(process.execPath, [HEARTH_BIN, 'init', '--interactive', '--dev-vars', devVarsPath()], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdin.end(answers.map((a) => `${a}\n`).join(''));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code, stderr).toBe(0);

    expect(stderr).toContain("The edge's URL (where the core dials) [http://127.0.0.1:8787]:");
    expect(stderr).toContain('Who may talk to the assistant: pairing, allowlist or open [pairing]:');
    expect((await readVars(join(dir, '.env'))).HEARTH_EDGE_URL).toBe('https://hearth.example.workers.dev');
    const vars = await readVars(devVarsPath());
    expect(vars).toMatchObject({
      TELEGRAM_BOT_TOKEN: '123456:ABC-interactive',
      TELEGRAM_BOT_USERNAME: 'hearth_bot',
      HEARTH_ACCESS_POLICY: 'allowlist',
      HEARTH_ALLOWLIST: 'telegram:42,telegram:43',
    });
    expect(parseEdgeConfig(vars).ok).toBe(true);
    expect(stdout).toContain('-d "url=https://hearth.example.workers.dev/webhooks/telegram" \\');
    expect(stdout + stderr).not.toContain('ABC-interactive');
  });
});

interface Check {
  check: string;
  status: 'ok' | 'warn' | 'fail';
  finding: string;
  fix?: string;
}
const byId = (checks: Check[]) => Object.fromEntries(checks.map((c) => [c.check, c]));
const REDIS_URL = process.env.HEARTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('hearth doctor', () => {
  let system: System;
  beforeAll(async () => {
    system = await startSystem({ cores: 0 });
  });
  afterAll(() => system?.stop());

  it('--json: all ok against a real edge that has this core key', async () => {
    const { code, stdout, output } = await hearth(['doctor', '--json'], { ...system.coreCliEnv, HEARTH_MODEL: TEST_MODEL, REDIS_URL });
    const checks = JSON.parse(stdout) as Check[];
    expect(checks.map((c) => c.check)).toEqual(['node', 'settings', 'plugins', 'key', 'model', 'gpu', 'redis', 'mcp', 'edge', 'clock', 'tunnel']);
    const { gpu, plugins, ...rest } = byId(checks);
    for (const check of Object.values(rest)) expect(check, output).toMatchObject({ status: 'ok' });
    // Without bubblewrap plugins run in the engine alone: a warning, never a failure.
    expect(plugins?.status).not.toBe('fail');
    // A machine without a GPU runs on the CPU: reported, never a failure.
    expect(gpu?.status).not.toBe('fail');
    expect(gpu?.finding).toMatch(/^(cpu|cuda|vulkan|metal)/);
    // wrangler dev sends no Date header (Cloudflare does): on loopback it is this machine's clock.
    expect(rest.clock?.finding).toContain('the same clock');
    expect(rest.redis?.finding).toContain('answered PING');
    expect(code).toBe(0);
  });

  it('fails the tunnel check with the fix when the edge does not know this key', async () => {
    const otherKey = join(dir, 'other-key.json');
    expect((await hearth(['keygen', '--key-file', otherKey])).code).toBe(0);
    const { code, stdout } = await hearth(['doctor', '--json'], { ...system.coreCliEnv, HEARTH_KEY_FILE: otherKey, HEARTH_ENGINE: 'echo' });
    const { tunnel, edge, gpu, model } = byId(JSON.parse(stdout) as Check[]);
    expect(edge?.status).toBe('ok');
    expect(model?.finding).toContain('HEARTH_ENGINE=echo');
    expect(gpu?.status).toBe('ok');
    expect(tunnel).toMatchObject({ status: 'fail', finding: expect.stringContaining('does not accept this core key'), fix: expect.stringContaining('HEARTH_CORE_JWKS') });
    expect(code).toBe(1);
  });

  it('fails an unreachable edge, a missing model and Redis with how to fix each, and exits 1', async () => {
    const looseKey = join(dir, 'core-key.json');
    expect((await hearth(['keygen', '--key-file', looseKey])).code).toBe(0);
    await chmod(looseKey, 0o644);
    const env = {
      HEARTH_KEY_FILE: looseKey,
      HEARTH_EDGE_URL: `http://127.0.0.1:${await freePort()}`,
      HEARTH_MODEL: join(dir, 'missing.gguf'),
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
    };
    const json = await hearth(['doctor', '--json'], env);
    expect(json.code).toBe(1);
    const checks = byId(JSON.parse(json.stdout) as Check[]);
    expect(checks.key).toMatchObject({ status: 'warn', finding: expect.stringContaining('mode 0644'), fix: `chmod 600 ${looseKey}` });
    expect(checks.model).toMatchObject({ status: 'fail', finding: expect.stringContaining('missing.gguf'), fix: expect.stringContaining('HEARTH_MODEL') });
    expect(checks.redis).toMatchObject({ status: 'fail', finding: expect.stringContaining('ECONNREFUSED'), fix: expect.stringContaining('redis-server') });
    expect(checks.edge).toMatchObject({ status: 'fail', finding: expect.stringContaining('ECONNREFUSED'), fix: expect.stringContaining('npm run start:edge') });
    expect(checks.clock).toMatchObject({ status: 'warn', finding: 'not checked: the edge did not answer' });
    expect(checks.tunnel).toMatchObject({ status: 'warn', finding: 'not checked: the edge did not answer' });

    // For people: marks, and the fix under each failure.
    const human = await hearth(['doctor'], env);
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(/^✓ Node\.js/m);
    expect(human.stdout).toMatch(/^✗ model .*missing\.gguf/m);
    expect(human.stdout).toMatch(/^! core key .*mode 0644\)\n\s+fix: chmod 600/m);
    expect(human.stdout).toMatch(/^✗ edge .*\n\s+fix: start the edge/m);
    expect(human.stdout).toContain('3 failed');
  });

  it("compares the edge's Date header with this clock: a warning past 10 s, a failure past 30 s", async () => {
    // The edge's answer as Cloudflare gives it (with a Date header), from a clock set ahead.
    let aheadMs = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', date: new Date(Date.now() + aheadMs).toUTCString() });
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const edgeUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const clockAt = async (ms: number) => {
      aheadMs = ms;
      const { code, stdout } = await hearth(['doctor', '--json'], { HEARTH_EDGE_URL: edgeUrl, HEARTH_ENGINE: 'echo', HEARTH_KEY_FILE: join(dir, 'none.json') });
      return { code, clock: byId(JSON.parse(stdout) as Check[]).clock };
    };
    try {
      expect((await clockAt(0)).clock).toMatchObject({ status: 'ok', finding: expect.stringContaining("agrees with the edge's") });
      expect((await clockAt(-15_000)).clock).toMatchObject({ status: 'warn', finding: expect.stringMatching(/the edge's clock is 1\d s behind this machine's/), fix: expect.stringContaining('NTP') });
      const far = await clockAt(45_000);
      expect(far.clock).toMatchObject({ status: 'fail', finding: expect.stringMatching(/the edge's clock is 4\d s ahead of this machine's/), fix: expect.stringContaining('30 s') });
      expect(far.code).toBe(1);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('names a bad setting and stops there', async () => {
    const { code, stdout } = await hearth(['doctor', '--json'], { HEARTH_EDGE_URL: 'edge.example.com' });
    expect(code).toBe(1);
    expect(byId(JSON.parse(stdout) as Check[]).settings).toMatchObject({ status: 'fail', finding: expect.stringContaining('HEARTH_EDGE_URL') });
  });
});
