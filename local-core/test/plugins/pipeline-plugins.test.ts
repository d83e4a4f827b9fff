import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type CoreKeySet, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EchoEngine, type ReplyOptions, type TurnTool } from '../../src/inference/engine.js';
import { chatFunctionsFor } from '../../src/inference/tool-functions.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import type { Memory } from '../../src/memory/memory.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import { silentLogger } from '../support.js';
import { manifest, messageIn, openRegistry } from './support.js';

/** An echo engine that keeps the tools each turn was offered, as node-llama-cpp would get them. */
class ToolRecordingEngine extends EchoEngine {
  offered: (readonly TurnTool[] | undefined)[] = [];
  override async reply(message: Message, options: ReplyOptions = {}): Promise<string> {
    this.offered.push(options.tools);
    return super.reply(message, options);
  }
}

const CALC = `
const bump = async (ctx) => ctx.data.put('calls', ((await ctx.data.get('calls')) ?? 0) + 1);
export default {
  commands: {
    hello: async (args, ctx) => 'hello ' + (args || 'there') + ' from ' + ctx.conversationId,
    help: async () => 'the plugin help must never answer',
    calls: async (_args, ctx) => String((await ctx.data.get('calls')) ?? 0),
    broken: async () => { throw new Error('the plugin broke'); },
  },
  tools: {
    add: async (args, ctx) => { await bump(ctx); return { sum: args.a + args.b }; },
  },
};
`;
const ADD_TOOL = {
  name: 'add',
  description: 'adds two small whole numbers',
  parameters: { type: 'object', properties: { a: { type: 'integer', maximum: 100 }, b: { type: 'integer', maximum: 100 } }, required: ['a', 'b'], additionalProperties: false },
};

let keys: CoreKeySet;
let memory: Memory;
let system: Awaited<ReturnType<typeof openRegistry>>;
beforeAll(async () => {
  keys = await generateCoreKeySet();
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
  system = await openRegistry([
    {
      name: 'calc',
      manifest: manifest('calc', {
        commands: ['hello', 'help', 'calls', 'broken'].map((name) => ({ name, description: `the ${name} command` })),
        tools: [ADD_TOOL],
        permissions: { data: true },
      }),
      handler: CALC,
    },
    {
      name: 'copycat',
      manifest: manifest('copycat', { commands: [{ name: 'hello', description: 'a second hello' }] }),
      handler: "export default { commands: { hello: async () => 'copycat answered' } };",
    },
  ]);
}, 30_000);
afterAll(async () => {
  await system?.close();
  await memory?.dispose();
});

function setup() {
  const engine = new ToolRecordingEngine();
  const sent: CoreFrameBody[] = [];
  const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), plugins: system.registry, send: (frame) => sent.push(frame) > 0 });
  const answer = async (message: Message): Promise<string> => {
    const sealed = await seal(JSON.stringify(message), publicKeySet(keys));
    await pipeline.handle({ v: 1, type: 'deliver', message_id: message.message_id, conversation_id: message.conversation.id, attempt: 1, sealed });
    const ack = sent.find((frame) => frame.type === 'ack' && frame.message_id === message.message_id);
    return ack?.type === 'ack' ? (ack.reply?.text ?? '') : '';
  };
  return { engine, answer };
}

describe('plugin commands in the pipeline', () => {
  it('routes a command that is not built in to the plugin declaring it, in the sender conversation', async () => {
    expect(await setup().answer(messageIn(31, '/hello Ada'))).toBe('hello Ada from telegram:31');
  });

  it('keeps built-ins first: /help is the core one, and lists the plugin commands', async () => {
    const help = await setup().answer(messageIn(31, '/help'));
    expect(help).toContain('/reset – forget our conversation');
    expect(help).toContain('/hello – the hello command');
    expect(help).not.toContain('must never answer');
    expect(system.registry.list().find((p) => p.name === 'calc')?.problems).toEqual(['command /help is built in; the plugin\'s is ignored']);
  });

  it('gives a command two plugins declare to the first by name and reports the other', () => {
    expect(system.registry.list().find((p) => p.name === 'copycat')?.problems).toEqual([
      'command /hello is also declared by plugin calc, which answers it (the first by name)',
    ]);
  });

  it('answers a failing plugin command with the reason, and goes on answering', async () => {
    const { answer } = setup();
    expect(await answer(messageIn(31, '/broken'))).toBe('/broken could not answer: Error: the plugin broke');
    expect(await answer(messageIn(31, '/hello'))).toBe('hello there from telegram:31');
  });

  it('still answers unknown commands with the pointer to /help', async () => {
    expect(await setup().answer(messageIn(31, '/nope'))).toBe('I do not know /nope. Send /help for what I can do.');
  });
});

describe('plugin tools at the engine boundary', () => {
  const calls = async () => Number(await system.registry.runCommand('calls', '', messageIn(32, '/calls')));

  it('offers the enabled plugins tools to the model with each turn', async () => {
    const { engine, answer } = setup();
    await answer(messageIn(32, 'what is 2 and 3?'));
    expect(engine.offered.at(-1)?.map((tool) => ({ name: tool.name, description: tool.description, parameters: tool.parameters }))).toEqual([ADD_TOOL]);
  });

  it('runs a tool call with valid arguments in the plugin, through the node-llama-cpp function handler', async () => {
    const { engine, answer } = setup();
    await answer(messageIn(32, 'add please'));
    const functions = chatFunctionsFor(engine.offered.at(-1) ?? []);
    const before = await calls();
    expect(await functions.add?.handler({ a: 2, b: 3 })).toEqual({ sum: 5 });
    expect(await calls()).toBe(before + 1);
  });

  it.each([
    ['a missing argument', { a: 2 }, "must have required property 'b'"],
    ['a wrong type', { a: 'two', b: 3 }, '/a must be integer'],
    ['past the schema maximum (which the grammar cannot express)', { a: 2, b: 1000 }, '/b must be <= 100'],
    ['an extra argument', { a: 1, b: 1, shell: 'rm -rf /' }, 'must NOT have additional properties'],
  ])('returns %s to the model as an error and never passes it on', async (_case, args, problem) => {
    const tools = system.registry.toolsFor(messageIn(32, 'x'));
    const before = await calls();
    const result = await chatFunctionsFor(tools).add?.handler(args);
    expect(result).toEqual({ error: expect.stringContaining(problem) });
    expect(await calls()).toBe(before);
    expect(system.logs().filter((line) => line.msg === 'tool arguments invalid; not passed to the plugin').at(-1)).toMatchObject({ tool: 'add', plugin: 'calc' });
  });

  it('refuses and logs a tool that was not offered for the conversation', async () => {
    const before = await calls();
    const result = await system.registry.callTool(new Set(), 'add', { a: 1, b: 1 }, messageIn(33, 'x'));
    expect(result).toEqual({ error: 'the tool add is not available: it was not offered in this conversation' });
    expect(await calls()).toBe(before);
    expect(system.logs().filter((line) => line.msg === 'tool call refused').at(-1)).toMatchObject({ tool: 'add', reason: 'it was not offered in this conversation' });
  });

  it('refuses a tool offered earlier whose plugin was disabled since', async () => {
    const tools = system.registry.toolsFor(messageIn(34, 'x'));
    system.state.setEnabled('calc', false);
    await system.registry.reload();
    try {
      expect(await tools[0]?.call({ a: 1, b: 2 })).toEqual({ error: 'the tool add is not available: its plugin is not enabled' });
      expect(system.registry.toolsFor(messageIn(34, 'x'))).toEqual([]);
      expect(system.logs().filter((line) => line.msg === 'tool call refused').at(-1)).toMatchObject({ reason: 'its plugin is not enabled' });
    } finally {
      system.state.setEnabled('calc', true);
      await system.registry.reload();
    }
    expect(await tools[0]?.call({ a: 1, b: 2 })).toEqual({ sum: 3 });
  });
});
