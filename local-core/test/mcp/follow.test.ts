import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type McpHost, startMcp } from '../../src/mcp/start.js';
import { messageIn } from '../plugins/support.js';
import { capturingLogger, tempDir } from '../support.js';
import { FIXTURES } from './support.js';

/**
 * A running core follows its mcp.json: servers added, changed or removed there start or stop
 * without a restart, the unchanged ones keep their connection (the fixture's `instance` tool
 * says which start answers), and a broken file changes nothing.
 */
let dir: string;
let cleanup: () => Promise<void>;
let host: McpHost | undefined;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  await host?.dispose();
  await cleanup();
});

const server = (extra: Record<string, unknown> = {}) => ({ command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], trusted: true, ...extra });
const write = (servers: Record<string, unknown>) => writeFile(join(dir, 'mcp.json'), JSON.stringify({ mcpServers: servers }));
const ready = () => (host?.list() ?? []).filter((s) => s.state === 'ready').map((s) => s.name);
const tool = (name: string) => host?.toolsFor(messageIn(93, 'hi'), new Set()).find((t) => t.name === name);

describe('startMcp follows the servers file', { timeout: 30_000 }, () => {
  it('starts a server added after start, keeps an unchanged one across a change, ignores a broken file and stops a removed one', async () => {
    const { log, lines } = capturingLogger('info');
    host = await startMcp({ config: { file: join(dir, 'mcp.json'), expose: new Set() }, log, env: {} });
    expect(host.list()).toEqual([]);

    await write({ tools: server() });
    await expect.poll(ready, { timeout: 20_000 }).toEqual(['tools']);
    const first = await tool('tools__instance')?.call({});

    await write({ tools: server(), more: server({ timeoutMs: 5_000 }) });
    await expect.poll(ready, { timeout: 20_000 }).toEqual(['more', 'tools']);
    expect(await tool('tools__instance')?.call({})).toBe(first);

    await writeFile(join(dir, 'mcp.json'), '{ "mcpServers": {');
    await expect.poll(() => lines.some((line) => line.includes('MCP servers file not applied: it is not valid'))).toBe(true);
    expect(ready()).toEqual(['more', 'tools']);

    // Changed: started again (a new instance).
    await write({ tools: server({ timeoutMs: 10_000 }) });
    await expect.poll(ready, { timeout: 20_000 }).toEqual(['tools']);
    await expect.poll(async () => (await tool('tools__instance')?.call({})) !== first, { timeout: 20_000 }).toBe(true);

    await rm(join(dir, 'mcp.json'));
    await expect.poll(() => host?.list(), { timeout: 20_000 }).toEqual([]);
    expect(tool('tools__add')).toBeUndefined();
  });
});
