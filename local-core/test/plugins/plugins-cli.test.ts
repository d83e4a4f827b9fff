import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinCommandNames } from '../../src/commands/builtin.js';
import { openDatabase } from '../../src/memory/database.js';
import { PluginDataStore } from '../../src/plugins/data-store.js';
import { PushOutbox } from '../../src/plugins/outbox.js';
import type { PluginInfo } from '../../src/plugins/plugin-info.js';
import { PluginRegistry } from '../../src/plugins/registry.js';
import { PluginStateStore } from '../../src/plugins/state.js';
import { type CliRun, runHearth, silentLogger, tempDir } from '../support.js';
import { messageIn } from './support.js';

const BUILT = resolve(import.meta.dirname, '../../dist/cli/plugins.js');

let dir: string;
let cleanup: () => Promise<void>;
const hearth = (args: string[]): Promise<CliRun> =>
  runHearth(args, { cwd: dir, env: { HEARTH_PLUGINS_DIR: join(dir, 'plugins'), HEARTH_DATA_DIR: join(dir, 'data') } });
const list = async (): Promise<PluginInfo[]> => JSON.parse((await hearth(['plugins', 'list', '--json'])).stdout) as PluginInfo[];

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup());

describe('hearth plugins (the real CLI, spawned)', { timeout: 60_000 }, () => {
  it('new NAME scaffolds a plugin that validates, and whose command and tool work in a real child', async () => {
    const made = await hearth(['plugins', 'new', 'my-plugin']);
    expect(made.code).toBe(0);
    expect(made.stdout).toContain(join(dir, 'plugins', 'my-plugin'));
    expect(await list()).toEqual([
      expect.objectContaining({ name: 'my-plugin', version: '0.1.0', enabled: true, valid: true, commands: ['my_plugin'], tools: ['my_plugin_echo'], problems: [] }),
    ]);

    const db = openDatabase(join(dir, 'data', 'core.db'));
    const state = new PluginStateStore(db);
    const registry = await PluginRegistry.open({
      dir: join(dir, 'plugins'),
      dataDir: join(dir, 'data'),
      state,
      data: new PluginDataStore(db),
      outbox: new PushOutbox(db, () => false, silentLogger()),
      log: silentLogger(),
      env: {},
      builtins: builtinCommandNames(),
      pollMs: 60_000,
    });
    try {
      const message = messageIn(60, '/my_plugin hi');
      expect(await registry.runCommand('my_plugin', 'hi', message)).toBe('You said: hi');
      const [tool] = registry.toolsFor(message);
      expect(await tool?.call({ text: 'echo me' })).toEqual({ text: 'echo me' });
    } finally {
      await registry.dispose();
      db.close();
    }
  });

  it('refuses a name that would leave the plugins folder, before touching the disk', async () => {
    for (const args of [['new', '../evil'], ['new', 'Evil'], ['enable', '../my-plugin'], ['disable', '/etc']]) {
      const run = await hearth(['plugins', ...args]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/is not a plugin name/);
    }
    expect(existsSync(join(dir, 'evil'))).toBe(false);
  });

  it('disable and enable write the state a running core follows', async () => {
    expect((await hearth(['plugins', 'disable', 'my-plugin'])).stdout).toBe('my-plugin disabled\n');
    expect((await list())[0]).toMatchObject({ name: 'my-plugin', enabled: false });
    expect((await hearth(['plugins', 'enable', 'my-plugin'])).stdout).toBe('my-plugin enabled\n');
    expect((await list())[0]).toMatchObject({ enabled: true });
    const ghost = await hearth(['plugins', 'enable', 'ghost']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toContain('no plugin ghost');
  });

  it('lists problems and permissions for a person', async () => {
    await mkdir(join(dir, 'plugins', 'bad'));
    await writeFile(join(dir, 'plugins', 'bad', 'plugin.json'), JSON.stringify({ name: 'bad', version: 'x', description: 'd', entry: 'h.js', permissions: { network: ['api.example.com'] } }));
    const run = await hearth(['plugins', 'list']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('bad ? — enabled, NOT LOADABLE');
    expect(run.stdout).toContain('problem: version: version must be semver, e.g. "1.0.0"');
    expect(run.stdout).toContain('my-plugin 0.1.0 — enabled');
    expect(run.stdout).toContain('may reach: no network; secrets: none; data folder: no');
  });
});
