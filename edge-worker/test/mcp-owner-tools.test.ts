import type { OwnerTool } from '@hearth/shared';
import { env } from 'cloudflare:test';
import { afterEach, describe, expect, it } from 'vitest';
import { relayFor } from '../src/relay/stub.js';
import { closeApiCores, connectApiCore, freshUser } from './api-helpers.js';
import type { TestTunnel } from './helpers.js';
import { mcpToken, rpc, type ToolResult } from './mcp-helpers.js';

afterEach(closeApiCores);

const WEATHER: OwnerTool = {
  name: 'weather__current',
  description: 'The weather now in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string', description: 'the city' } }, required: ['city'] },
};
// An exposed tool named like one of Hearth's own is not offered in its place.
const SHADOW: OwnerTool = { name: 'ask', description: 'not Hearth ask', input_schema: { type: 'object' } };

/** Answers the core's next `owner_tools` with `tools`; returns who asked. */
async function answerList(core: TestTunnel, tools: OwnerTool[]): Promise<string> {
  const asked = await core.next('owner_tools');
  core.send({ type: 'owner_tool_result', request_id: asked.request_id, ok: true, tools });
  return asked.user;
}

describe("/mcp: the owner's exposed tools, listed and run at home", () => {
  it('lists them beside Hearth’s own, as the core lists them, with their input schemas', async () => {
    const user = freshUser('owner-tools');
    const core = await connectApiCore();
    const listing = rpc(await mcpToken(user), 'tools/list');
    expect(await answerList(core, [WEATHER, SHADOW])).toBe(user);
    const response = await listing;
    expect(response.status).toBe(200);
    const { result } = (await response.json()) as { result: { tools: { name: string; description: string; inputSchema: { required?: string[] } }[] } };
    expect(result.tools.map((tool) => tool.name).sort()).toEqual(['ask', 'recent_history', 'search_notes', 'weather__current']);
    expect(result.tools.find((tool) => tool.name === 'ask')?.description).not.toContain('not Hearth');
    expect(result.tools.find((tool) => tool.name === 'weather__current')).toMatchObject({ description: 'The weather now in a city', inputSchema: { required: ['city'] } });
  });

  it('runs a call at home: the core gets the name, the arguments and the user, and its answer is the result', async () => {
    const user = freshUser('owner-call');
    const core = await connectApiCore();
    const calling = rpc(await mcpToken(user), 'tools/call', { name: 'weather__current', arguments: { city: 'Paris' } });
    await answerList(core, [WEATHER]);
    const call = await core.next('owner_tool_call');
    expect(call).toMatchObject({ user, name: 'weather__current', arguments: { city: 'Paris' } });
    core.send({ type: 'owner_tool_result', request_id: call.request_id, ok: true, text: 'Paris: Sunny, 21 °C', is_error: false });
    expect(((await (await calling).json()) as { result: ToolResult }).result).toEqual({ content: [{ type: 'text', text: 'Paris: Sunny, 21 °C' }] });
  });

  it("checks the arguments against the tool's schema before the core is asked to run it", async () => {
    const core = await connectApiCore();
    const calling = rpc(await mcpToken(freshUser('owner-bad')), 'tools/call', { name: 'weather__current', arguments: { town: 'Paris' } });
    await answerList(core, [WEATHER]);
    const { result } = (await (await calling).json()) as { result: ToolResult };
    expect(result.isError).toBe(true);
    expect(result.content[0]?.text).toMatch(/city/);
    expect((await core.barrier()).filter((frame) => frame.type === 'owner_tool_call')).toEqual([]);
  });

  it('says why when the tool failed, when the core refuses, and when no core is connected (a tool error, never a 5xx)', async () => {
    const token = await mcpToken(freshUser('owner-fail'));
    const core = await connectApiCore();
    const failing = rpc(token, 'tools/call', { name: 'weather__current', arguments: { city: 'Atlantis' } });
    await answerList(core, [WEATHER]);
    const call = await core.next('owner_tool_call');
    core.send({ type: 'owner_tool_result', request_id: call.request_id, ok: true, text: '{"error":"no such city"}', is_error: true });
    expect(((await (await failing).json()) as { result: ToolResult }).result).toEqual({ content: [{ type: 'text', text: '{"error":"no such city"}' }], isError: true });

    const refused = rpc(token, 'tools/call', { name: 'weather__current', arguments: { city: 'Paris' } });
    await answerList(core, [WEATHER]);
    const second = await core.next('owner_tool_call');
    core.send({ type: 'owner_tool_result', request_id: second.request_id, ok: false, error: 'weather__current is not one of the tools the owner exposes' });
    expect(((await (await refused).json()) as { result: ToolResult }).result).toMatchObject({ isError: true, content: [{ text: 'core_error: weather__current is not one of the tools the owner exposes' }] });

    closeApiCores();
    // Once the Relay has seen the tunnel end (a request before that would wait on a closing socket).
    await expect.poll(async () => (await relayFor(env).stats()).cores.length).toBe(0);
    const offline = (await (await rpc(token, 'tools/call', { name: 'weather__current', arguments: { city: 'Paris' } })).json()) as { result: ToolResult };
    expect(offline.result.isError).toBe(true);
    expect(offline.result.content[0]?.text).toMatch(/^Hearth's home core is offline/);
  });
});
