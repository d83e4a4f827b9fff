import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMcpServers } from '../../src/mcp/probe.js';
import { tempDir } from '../support.js';
import { FIXTURES, ref } from './support.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterAll(() => cleanup?.());

const write = async (name: string, servers: Record<string, unknown>) => {
  const file = join(dir, name);
  await writeFile(file, JSON.stringify({ mcpServers: servers }));
  return { file };
};

describe("hearth doctor's MCP check", { timeout: 30_000 }, () => {
  it('is ok with no file, and lists each server with its tools or why it does not connect', async () => {
    expect(await checkMcpServers({ file: join(dir, 'none.json') }, {})).toMatchObject({ check: 'mcp', status: 'ok', finding: expect.stringContaining('none configured') });
    const config = await write('mcp.json', {
      tools: { command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], trusted: true },
      keyless: { command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], trusted: true, env: { KEY: ref('UNSET_KEY') } },
    });
    expect(await checkMcpServers(config, {})).toEqual({
      check: 'mcp',
      name: 'MCP servers',
      status: 'warn',
      finding: `keyless: does not connect (refused: env KEY needs ${ref('UNSET_KEY')}, not set in the core's environment); tools: 9 tools`,
      fix: 'hearth mcp test NAME shows why; the core offers the tools of the servers that connect',
    });
  });

  it('fails on a file the core would refuse, with the problem', async () => {
    const config = await write('bad.json', { s: { command: 'x', trusted: true, hosts: ['a.example'] } });
    expect(await checkMcpServers(config, {})).toMatchObject({ status: 'fail', finding: expect.stringContaining('mcpServers.s.hosts: a trusted server runs unsandboxed with the network') });
  });
});
