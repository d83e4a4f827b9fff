import { existsSync, statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { type CliRun, runHearth, tempDir } from '../support.js';
import { FIXTURES, NODE_MODULES, ref, startHttpServer } from './support.js';

const BUILT = resolve(import.meta.dirname, '../../dist/cli/mcp.js');

let dir: string;
let cleanup: () => Promise<void>;
let http: Awaited<ReturnType<typeof startHttpServer>>;
const hearth = (args: string[], env: Record<string, string> = {}): Promise<CliRun> => runHearth(args, { cwd: dir, env: { HEARTH_DATA_DIR: join(dir, 'data'), ...env } });
const file = () => join(dir, 'data', 'mcp.json');

beforeAll(async () => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: build first (npx tsc -b local-core)`);
  ({ dir, cleanup } = await tempDir());
  http = await startHttpServer();
});
afterAll(async () => {
  await http?.close();
  await cleanup?.();
});

describe('hearth mcp (the real CLI, spawned)', { timeout: 60_000 }, () => {
  it('add writes a sandboxed stdio entry and an HTTP one with secrets by name, owner-only', async () => {
    const stdio = await hearth(['mcp', 'add', 'tools', '--folder', FIXTURES, '--folder', NODE_MODULES, '--host', 'api.example.com', '--lan-address', '10.0.0.5:443', '--', process.execPath, join(FIXTURES, 'tools-server.mjs')]);
    expect(stdio).toMatchObject({ code: 0, stdout: expect.stringContaining(`added tools to ${file()}`) });
    const remote = await hearth(['mcp', 'add', 'weather', '--url', http.url, '--lan', '--header', 'Authorization=WEATHER_TOKEN']);
    expect(remote.code).toBe(0);
    expect(JSON.parse(await readFile(file(), 'utf8'))).toEqual({
      mcpServers: {
        tools: { command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], folders: [FIXTURES, NODE_MODULES], hosts: ['api.example.com'], lan: ['10.0.0.5:443'] },
        weather: { url: http.url, headers: { Authorization: ref('WEATHER_TOKEN') }, lan: true },
      },
    });
    expect(statSync(file()).mode & 0o777).toBe(0o600);
  });

  it('add refuses a literal secret, a core variable, a duplicate and a bad name, saying why', async () => {
    expect(await hearth(['mcp', 'add', 'x', '--url', 'https://mcp.example.com/mcp', '--header', 'Authorization=Bearer abc'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("give the name of a variable of the core's environment"),
    });
    expect(await hearth(['mcp', 'add', 'x', '--url', 'https://mcp.example.com/mcp', '--header', 'Authorization=TELEGRAM_BOT_TOKEN'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`${ref('TELEGRAM_BOT_TOKEN')} belongs to the core, a platform or Node`),
    });
    expect(await hearth(['mcp', 'add', 'tools', '--', 'node'])).toMatchObject({ code: 1, stderr: expect.stringContaining('tools is already in') });
    expect(await hearth(['mcp', 'add', 'Bad.Name', '--', 'node'])).toMatchObject({ code: 1, stderr: expect.stringContaining('a server name is 1-32 of a-z 0-9 _ -') });
    expect(await hearth(['mcp', 'add', 'x', '--url', 'http://mcp.example.com/mcp'])).toMatchObject({ code: 1, stderr: expect.stringContaining('plain http only to a server on your network') });
  });

  it.skipIf(!namespaceSupport().ok)('list shows kind, sandboxing, grants and tool counts; test lists tools with annotations and approval marks', async () => {
    const listed = await hearth(['mcp', 'list'], { WEATHER_TOKEN: 't' });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`tools — stdio, sandboxed: ${process.execPath} ${join(FIXTURES, 'tools-server.mjs')}`);
    expect(listed.stdout).toContain(`  folders: ${FIXTURES} (read-only), ${NODE_MODULES} (read-only); network: api.example.com through the core's proxy (lan: 10.0.0.5:443)`);
    expect(listed.stdout).toMatch(/tools — [^\n]*\n[^\n]*\n {2}connects: 9 tools/);
    expect(listed.stdout).toContain(`weather — http ${http.url}\n  addresses: this machine and the local network allowed (lan); headers: Authorization: \${WEATHER_TOKEN}\n  connects: 1 tools`);

    const tested = await hearth(['mcp', 'test', 'tools', '--json']);
    expect(tested.code).toBe(0);
    expect(JSON.parse(tested.stdout).tools).toContainEqual({ name: 'delete_everything', offeredAs: 'tools__delete_everything', needsApproval: true, annotations: { destructiveHint: true, openWorldHint: false } });
  });

  it('test exits 1 with the reason when a server does not connect; remove takes it out', async () => {
    const unset = await hearth(['mcp', 'test', 'weather']);
    expect(unset).toMatchObject({ code: 1, stderr: expect.stringContaining(`weather does not connect (refused): header Authorization needs ${ref('WEATHER_TOKEN')}, not set in the core's environment`) });
    expect(await hearth(['mcp', 'remove', 'weather'])).toMatchObject({ code: 0, stdout: `removed weather from ${file()}\n` });
    expect(Object.keys(JSON.parse(await readFile(file(), 'utf8')).mcpServers)).toEqual(['tools']);
    expect(await hearth(['mcp', 'remove', 'weather'])).toMatchObject({ code: 1, stderr: expect.stringContaining('no MCP server weather') });
  });

  it('names a broken entry written by hand, and can still remove it', async () => {
    const json = JSON.parse(await readFile(file(), 'utf8'));
    await writeFile(file(), JSON.stringify({ ...json, mcpServers: { ...json.mcpServers, broken: { command: 'x', trusted: true, hosts: ['a.example'] } } }));
    expect(await hearth(['mcp', 'list', '--offline'])).toMatchObject({ code: 1, stderr: expect.stringContaining('mcpServers.broken.hosts: a trusted server runs unsandboxed with the network') });
    expect(await hearth(['mcp', 'remove', 'broken'])).toMatchObject({ code: 0 });
    expect((await hearth(['mcp', 'list', '--offline'])).stdout).toContain('tools — stdio, sandboxed');
    await writeFile(file(), '{ not json');
    expect(await hearth(['mcp', 'remove', 'tools'])).toMatchObject({ code: 1, stderr: expect.stringContaining('is not a JSON object; fix or remove it') });
  });
});
