import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { startCore } from '../../src/core.js';
import { ConfigError } from '../../src/errors.js';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { freePort, silentLogger, tempDir, isRunning } from '../support.js';
import { FIXTURES } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
let env: Record<string, string>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  env = {
    // No edge there: the tunnel keeps dialling in the background, which is all this test needs.
    HEARTH_EDGE_URL: `http://127.0.0.1:${await freePort()}`,
    HEARTH_KEY_FILE: join(dir, 'core-key.json'),
    HEARTH_DATA_DIR: join(dir, 'data'),
    HEARTH_ENGINE: 'echo',
    HEARTH_ADMIN_PORT: '0',
    HEARTH_RECALL: 'off',
    HEARTH_PLUGINS: 'off',
    HEARTH_MCP_CONFIG: join(dir, 'mcp.json'),
  };
  await writeNewKeySet(env.HEARTH_KEY_FILE as string);
});
afterAll(() => cleanup?.());


describe('MCP servers in the core lifecycle', { timeout: 30_000 }, () => {
  it('starts the configured servers with the core and ends them when it stops', async () => {
    const pidFile = join(dir, 'server.pid');
    await writeFile(join(dir, 'mcp.json'), JSON.stringify({ mcpServers: { tools: { command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], trusted: true, env: { PID_FILE: pidFile } } } }));
    const core = await startCore(loadCoreConfig(env), silentLogger());
    try {
      await expect.poll(() => existsSync(pidFile), { timeout: 20_000 }).toBe(true);
    } finally {
      await core.dispose();
    }
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(isRunning(pid)).toBe(false);
  });

  it('refuses to start with a bad mcp.json, naming the server and the problem', async () => {
    await writeFile(join(dir, 'mcp.json'), JSON.stringify({ mcpServers: { tools: { command: 'x', trusted: true, hosts: ['api.example.com'] } } }));
    const started = startCore(loadCoreConfig(env), silentLogger());
    await expect(started).rejects.toBeInstanceOf(ConfigError);
    await expect(started).rejects.toThrow(/mcpServers\.tools\.hosts: a trusted server runs unsandboxed with the network/);
  });
});
