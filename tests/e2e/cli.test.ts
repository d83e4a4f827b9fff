import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreKeySetSchema, EDGE_SECRETS } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CoreProcess } from '../support/core-process.js';
import { TEST_MODEL, freePort } from '../support/system.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-cli-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** Runs `hearth ...` to completion and returns its exit code and everything it printed. */
async function hearth(args: string[], env: Record<string, string> = {}) {
  const run = new CoreProcess({ HEARTH_KEY_FILE: join(dir, 'core-key.json'), HEARTH_DATA_DIR: join(dir, 'data'), ...env }, args);
  const code = await run.exited;
  return { code, output: run.raw.join('\n') };
}

describe('hearth CLI start-up checks', () => {
  it('keygen prints only the public key set on stdout', async () => {
    const { code, output } = await hearth(['keygen']);
    expect(code).toBe(0);
    const jwksLine = output.split('\n').find((l) => l.startsWith('{"keys"'));
    const jwks = CoreKeySetSchema.parse(JSON.parse(jwksLine!));
    expect(jwks.keys.map((k) => k.use).sort()).toEqual(['enc', 'sig']);
    for (const key of jwks.keys) expect(key).not.toHaveProperty('d');
  });

  it('start without a key says to run keygen, and exits non-zero', async () => {
    const { code, output } = await hearth(['start'], { HEARTH_MODEL: TEST_MODEL });
    expect(code).toBe(1);
    expect(output).toContain('npx hearth keygen');
    expect(output).toContain('HEARTH_KEY_FILE');
  });

  it('start without a model names HEARTH_MODEL, and exits non-zero', async () => {
    expect((await hearth(['keygen'])).code).toBe(0);
    const { code, output } = await hearth(['start'], { HEARTH_MODEL: join(dir, 'missing.gguf') });
    expect(code).toBe(1);
    expect(output).toMatch(/HEARTH_MODEL points at .*missing\.gguf/);

    const none = await hearth(['start'], { HEARTH_MODELS_DIR: join(dir, 'no-models') });
    expect(none.code).toBe(1);
    expect(none.output).toContain('no .gguf file');
  });

  it('start with a bad setting names it, and exits non-zero', async () => {
    const { code, output } = await hearth(['start'], { HEARTH_EDGE_URL: 'edge.example.com' });
    expect(code).toBe(1);
    expect(output).toContain('HEARTH_EDGE_URL');
  });

  it('edge without its secrets names what is missing and how to set it, and exits non-zero', async () => {
    // Empty values count as unset, and win over any edge-worker/.dev.vars on this machine.
    const unset = Object.fromEntries(EDGE_SECRETS.map((name) => [name, '']));
    const none = await hearth(['edge'], unset);
    expect(none.code).toBe(1);
    expect(none.output).toContain('HEARTH_CORE_JWKS is missing');
    expect(none.output).toContain('wrangler secret put HEARTH_CORE_JWKS');

    const half = await hearth(['edge'], { ...unset, TELEGRAM_BOT_TOKEN: '1:abc' });
    expect(half.code).toBe(1);
    expect(half.output).toContain('TELEGRAM_WEBHOOK_SECRET is missing (Telegram needs');
  });

  it('pair names a bad sender, and an edge it cannot reach, and exits non-zero', async () => {
    expect((await hearth(['keygen'])).code).toBe(0);
    const bad = await hearth(['pair', 'revoke', 'nobody']);
    expect(bad.code).toBe(1);
    expect(bad.output).toContain('a sender is platform:id');

    const unreachable = await hearth(['pair', 'list'], { HEARTH_EDGE_URL: `http://127.0.0.1:${await freePort()}` });
    expect(unreachable.code).toBe(1);
    expect(unreachable.output).toMatch(/cannot reach the edge at http:\/\/127\.0\.0\.1:\d+ \(HEARTH_EDGE_URL\)/);
  });

  it('models pull (of a named model or the default) fails offline with a message saying so, and start --model names a missing file', async () => {
    const offline = await hearth(['models', 'pull', `http://127.0.0.1:${await freePort()}/model.gguf`, '--dir', join(dir, 'models')]);
    expect(offline.code).toBe(1);
    expect(offline.output).toContain('the network is unreachable');
    expect(offline.output).toContain('hearth models pull');
    // No argument: the default model (HEARTH_DEFAULT_MODEL), here a host nobody answers on.
    const defaultModel = `http://127.0.0.1:${await freePort()}/default.gguf`;
    const byDefault = await hearth(['models', 'pull', '--dir', join(dir, 'models')], { HEARTH_DEFAULT_MODEL: defaultModel });
    expect(byDefault.code).toBe(1);
    expect(byDefault.output).toContain(`cannot download ${defaultModel}: the network is unreachable`);

    expect((await hearth(['keygen'])).code).toBe(0);
    const missing = await hearth(['start', '--model', join(dir, 'nowhere.gguf')]);
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/HEARTH_MODEL points at .*nowhere\.gguf/);
  });
});
