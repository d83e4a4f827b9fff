import type { Message } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import type { TurnTool } from '../../src/inference/engine.js';
import { answerOwnerTools } from '../../src/mcp-server/owner-tools-answer.js';
import { capturingLogger } from '../support.js';

/**
 * The owner's tools at /mcp, answered at home: only the names HEARTH_MCP_EXPOSE lists (or all
 * with `*`), never a tool that needs the owner's approval (nobody could press Run for another
 * agent's call), run as a turn of the API user's own `mcp` conversation.
 */
const calls: { tool: string; args: unknown; message: Message }[] = [];
const tool = (name: string, needsApproval = false, answer: unknown = `${name} done`) => (message: Message): TurnTool => ({
  name,
  description: `the ${name} tool`,
  parameters: { type: 'object', properties: { city: { type: 'string' } } },
  needsApproval,
  call: async (args) => {
    calls.push({ tool: name, args, message });
    return answer;
  },
});
const plugins = { toolsFor: (message: Message) => [tool('get_weather')(message), tool('wipe_notes', true)(message)] };
const mcp = { toolsFor: (message: Message, taken: ReadonlySet<string>) => [tool('get_weather')(message), tool('files__read', false, { error: 'no such file' })(message)].filter((t) => !taken.has(t.name)) };

const options = (expose: string[]) => ({ plugins, mcp, expose: new Set(expose), log: capturingLogger('silent').log });
const list = (expose: string[]) => answerOwnerTools({ v: 1, type: 'owner_tools', request_id: 'r1', user: 'ada' }, options(expose));
const call = (expose: string[], name: string, args: Record<string, unknown> = {}) =>
  answerOwnerTools({ v: 1, type: 'owner_tool_call', request_id: 'r2', user: 'ada', name, arguments: args }, options(expose));

describe("the owner's exposed tools (answerOwnerTools)", () => {
  it('lists only the exposed names, with their schemas; * is every tool that needs no approval; none by default', async () => {
    expect(await list([])).toEqual({ type: 'owner_tool_result', request_id: 'r1', ok: true, tools: [] });
    expect((await list(['get_weather'])).tools).toEqual([{ name: 'get_weather', description: 'the get_weather tool', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }]);
    expect((await list(['*'])).tools?.map((t) => t.name)).toEqual(['get_weather', 'files__read']);
    // Named, but it needs the owner's Run: not exposed.
    expect((await list(['wipe_notes'])).tools).toEqual([]);
  });

  it("runs an exposed tool as a turn of the user's mcp conversation, and says when the tool failed", async () => {
    calls.length = 0;
    expect(await call(['get_weather'], 'get_weather', { city: 'Paris' })).toEqual({ type: 'owner_tool_result', request_id: 'r2', ok: true, text: 'get_weather done', is_error: false });
    expect(calls).toMatchObject([{ tool: 'get_weather', args: { city: 'Paris' }, message: { platform: 'api', conversation: { id: 'api:ada:mcp' }, sender: { id: 'api:ada' } } }]);
    expect(await call(['*'], 'files__read')).toMatchObject({ ok: true, text: '{"error":"no such file"}', is_error: true });
  });

  it('runs nothing that is not exposed, nor one that needs approval even when named', async () => {
    calls.length = 0;
    expect(await call(['get_weather'], 'files__read')).toMatchObject({ ok: false, error: 'files__read is not one of the tools the owner exposes (HEARTH_MCP_EXPOSE)' });
    expect(await call(['wipe_notes', '*'], 'wipe_notes')).toMatchObject({ ok: false });
    expect(calls).toEqual([]);
  });
});
