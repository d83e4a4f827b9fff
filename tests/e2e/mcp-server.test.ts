import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hearthCli, issueToken } from '../support/client-api.js';
import { HEARTH_BIN } from '../support/core-process.js';
import { NOTES_SERVER, recordedCalls } from '../support/mcp-servers.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Hearth as an MCP server end to end: the real edge under workerd and a real core on a real
 * GGUF, reached by the official SDK's own client, over streamable HTTP at `/mcp` with a token
 * of the mcp scope, and over stdio through `hearth mcp serve` as a desktop agent runs it. The
 * core has an MCP server of its own (the notes fixture) and exposes its tools
 * (HEARTH_MCP_EXPOSE): the read-only one is listed and run at home, the destructive one (it
 * needs the owner's Run) never.
 */
let system: System;
let token: string;
let coreDir: string;
let callsFile: string;
const HEARTH_OWN = ['ask', 'recent_history', 'search_notes'];
beforeAll(async () => {
  coreDir = await mkdtemp(join(tmpdir(), 'hearth-mcp-core-'));
  callsFile = join(coreDir, 'calls.jsonl');
  const notesServer = { command: process.execPath, args: [NOTES_SERVER], env: { CALLS_FILE: callsFile }, trusted: true };
  await writeFile(join(coreDir, 'mcp.json'), JSON.stringify({ mcpServers: { notes: notesServer } }));
  system = await startSystem({ coreEnv: { HEARTH_DATA_DIR: coreDir, HEARTH_MCP_EXPOSE: 'notes__read_note,notes__delete_note' } });
  token = await issueToken(system, 'ada', ['mcp']);
  // A note for ada in the running core's recall, added as the owner does.
  const notes = join(coreDir, 'house.md');
  await writeFile(notes, 'The spare key for the garden shed hangs behind the kitchen door.\n');
  await hearthCli({ ...system, coreCliEnv: { ...system.coreCliEnv, HEARTH_DATA_DIR: coreDir } }, ['notes', 'add', notes, '--owner', 'api:ada']);
});
afterAll(() => system?.stop());

type TextResult = { content: { type: string; text: string }[]; isError?: boolean };
const textOf = (result: unknown) => (result as TextResult).content[0]?.text ?? '';

async function httpClient(headers: Record<string, string>) {
  const client = new Client({ name: 'e2e-agent', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', system.edge.url), { requestInit: { headers } }));
  return client;
}

describe("Hearth's tools through /mcp with the SDK's client", () => {
  it('is refused without a token', async () => {
    await expect(httpClient({})).rejects.toThrow(/missing_token/);
  });

  it("lists the owner's exposed tool beside Hearth's own once the core's MCP server is up, and runs it at home", async () => {
    const client = await httpClient({ Authorization: `Bearer ${token}` });
    try {
      // The core connects its MCP servers in the background.
      await expect.poll(async () => (await client.listTools()).tools.map((t) => t.name).sort(), { timeout: 30_000 }).toEqual([...HEARTH_OWN, 'notes__read_note'].sort());
      const read = await client.callTool({ name: 'notes__read_note', arguments: { name: 'groceries' } });
      expect(read.isError).toBeFalsy();
      expect(textOf(read)).toContain('groceries: milk, eggs');
      // Named in HEARTH_MCP_EXPOSE, but destructive: not offered, and not run when called anyway.
      const deleted = await client.callTool({ name: 'notes__delete_note', arguments: { name: 'groceries' } });
      expect(deleted.isError).toBe(true);
      expect(await recordedCalls(callsFile)).toEqual([{ tool: 'read_note', args: { name: 'groceries' } }]);
    } finally {
      await client.close();
    }
  });

  it('lists the tools, asks the model in a named conversation, reads it back and finds the note', async () => {
    const client = await httpClient({ Authorization: `Bearer ${token}` });
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...HEARTH_OWN, 'notes__read_note'].sort());

      const asked = await client.callTool({ name: 'ask', arguments: { conversation: 'agent', text: 'Once upon a time there was a dog' } }, undefined, { timeout: 120_000 });
      expect(asked.isError).toBeFalsy();
      const reply = textOf(asked);
      expect(reply.trim().length).toBeGreaterThan(0);

      // Kept in the conversation's history, as a device's message and its reply are.
      const history = JSON.parse(textOf(await client.callTool({ name: 'recent_history', arguments: { conversation: 'agent', limit: 10 } }))) as {
        turns: { role: string; text: string }[];
      };
      expect(history.turns).toEqual([
        { role: 'user', text: 'Once upon a time there was a dog', created_at: expect.any(String) },
        { role: 'assistant', text: reply, created_at: expect.any(String) },
      ]);

      const found = JSON.parse(textOf(await client.callTool({ name: 'search_notes', arguments: { query: 'spare key garden shed', limit: 3 } }))) as {
        hits: { ref: string; text: string; score: number }[];
      };
      expect(found.hits[0]).toMatchObject({ ref: expect.stringMatching(/house\.md#0$/), text: expect.stringContaining('behind the kitchen door') });
      expect(found.hits[0]?.score).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
  });
});

describe('hearth mcp serve (stdio) for a local agent', () => {
  it("offers the edge's tools over stdio with a token it signs itself", async () => {
    const client = new Client({ name: 'desktop-agent', version: '1' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [HEARTH_BIN, 'mcp', 'serve', '--user', 'ada'],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...system.coreCliEnv },
      stderr: 'pipe',
    });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual([...HEARTH_OWN, 'notes__read_note'].sort());
      const history = JSON.parse(textOf(await client.callTool({ name: 'recent_history', arguments: { conversation: 'agent', limit: 1 } }))) as {
        turns: { role: string }[];
      };
      // ada's conversation from the test above: the same user, through the same edge.
      expect(history.turns.map((t) => t.role)).toEqual(['assistant']);
    } finally {
      await client.close();
    }
  });
});
