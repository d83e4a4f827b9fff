import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type CoreKeySet, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EchoEngine, type ReplyOptions } from '../../src/inference/engine.js';
import type { McpServerEntry } from '../../src/mcp/file.js';
import { McpServers } from '../../src/mcp/servers.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import type { Memory } from '../../src/memory/memory.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { manifest, messageIn, openRegistry } from '../plugins/support.js';
import { silentLogger } from '../support.js';
import { fixtureEntry } from './support.js';

/** An engine that calls the tool the message names (JSON: { tool, args }) and answers with what it got, as a model would. */
class ToolCallingEngine extends EchoEngine {
  offered: string[][] = [];
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    this.offered.push((options.tools ?? []).map((tool) => tool.name));
    const { tool, args } = JSON.parse(message.content.text) as { tool: string; args: unknown };
    const found = options.tools?.find((offered) => offered.name === tool);
    return found ? `the tool said: ${JSON.stringify(await found.call(args))}` : `no tool ${tool}`;
  }
}

const ADD = { name: 'add', description: 'adds', parameters: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } }, required: ['a', 'b'] } };

let keys: CoreKeySet;
let memory: Memory;
let plugins: Awaited<ReturnType<typeof openRegistry>>;
let mcp: McpServers;

beforeAll(async () => {
  keys = await generateCoreKeySet();
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
  plugins = await openRegistry([
    // A plugin tool named as an MCP tool would be offered: the plugin keeps the name.
    { name: 'calc', manifest: manifest('calc', { tools: [ADD, { name: 'tools__instance', description: 'the plugin one', parameters: { type: 'object', properties: {} } }] }), handler: "export default { tools: { add: async (a) => ({ sum: a.a + a.b }), tools__instance: async () => 'from the plugin' } };" },
  ]);
  const entry: McpServerEntry = { ...fixtureEntry('tools-server.mjs'), name: 'tools' };
  mcp = McpServers.start([entry], { log: silentLogger(), env: {}, namespaces: namespaceSupport });
  expect(await mcp.connection('tools')?.settled(20_000)).toBe('ready');
}, 40_000);
afterAll(async () => {
  await mcp?.dispose();
  await plugins?.close();
  await memory?.dispose();
});

describe.skipIf(!namespaceSupport().ok)('MCP tools in the pipeline, beside plugin tools', { timeout: 30_000 }, () => {
  const answer = async (pipeline: Pipeline, sent: CoreFrameBody[], text: string): Promise<string> => {
    const message = messageIn(95, text);
    const sealed = await seal(JSON.stringify(message), publicKeySet(keys));
    await pipeline.handle({ v: 1, type: 'deliver', message_id: message.message_id, conversation_id: message.conversation.id, attempt: 1, sealed });
    const ack = sent.find((frame) => frame.type === 'ack' && frame.message_id === message.message_id);
    return ack?.type === 'ack' ? (ack.reply?.text ?? '') : '';
  };
  const setup = () => {
    const engine = new ToolCallingEngine();
    const sent: CoreFrameBody[] = [];
    const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), plugins: plugins.registry, mcp, send: (frame) => sent.push(frame) > 0 });
    return { engine, ask: (text: string) => answer(pipeline, sent, text) };
  };

  it('offers the MCP tools after the plugin tools, and the MCP result reaches the model', async () => {
    const { engine, ask } = setup();
    expect(await ask(JSON.stringify({ tool: 'tools__add', args: { a: 2, b: 3 } }))).toBe('the tool said: "5"');
    expect(await ask(JSON.stringify({ tool: 'add', args: { a: 2, b: 3 } }))).toBe('the tool said: {"sum":5}');
    const offered = engine.offered[0] ?? [];
    expect(offered.slice(0, 2)).toEqual(['add', 'tools__instance']);
    expect(offered).toEqual(expect.arrayContaining(['tools__add', 'tools__fail', 'tools__grow']));
  });

  it('keeps a name a plugin has for the plugin, and leaves out tools needing approval when no one can approve', async () => {
    const { engine, ask } = setup();
    expect(await ask(JSON.stringify({ tool: 'tools__instance', args: {} }))).toBe('the tool said: "from the plugin"');
    const offered = engine.offered[0] ?? [];
    expect(offered.filter((name) => name === 'tools__instance')).toHaveLength(1);
    // Open-world and destructive ones carry needsApproval; with no approval desk the pipeline does not offer them.
    expect(offered).not.toContain('tools__search_web');
    expect(offered).not.toContain('tools__delete_everything');
  });

  it('answers with the tool error, never fails the reply', async () => {
    expect(await setup().ask(JSON.stringify({ tool: 'tools__fail', args: {} }))).toBe('the tool said: {"error":"no such city"}');
  });
});
