import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaEngine } from '../../src/inference/llama-engine.js';
import { TEST_MODEL, capturingLogger } from '../support.js';
import { copyShippedPlugin, messageIn, openRegistry } from './support.js';

/**
 * The real model with the shipped plugins' tools offered through node-llama-cpp function
 * calling. stories260K has no chat template and never calls a function, so this proves the other
 * half: offering functions (their grammar built from each tool's schema, their descriptions in
 * the system prompt) does not break generation, turn after turn; and where the descriptions do
 * not fit a small context the turn goes on without them, said in the log, instead of failing.
 * The call path itself is tested at the engine boundary in pipeline-plugins.test.ts, with the
 * handlers node-llama-cpp would call.
 */
let system: Awaited<ReturnType<typeof openRegistry>>;
beforeAll(async () => {
  system = await openRegistry([]);
  await copyShippedPlugin(system.root, 'weather');
  await copyShippedPlugin(system.root, 'reminders');
  await system.registry.reload();
});
afterAll(() => system?.close());

const engineWith = async (contextSize: number) => {
  const { log, lines } = capturingLogger('debug');
  const engine = await LlamaEngine.create({ modelPath: TEST_MODEL, modelsDirs: [], threads: 1, sequences: 1, contextSize, maxTokens: 16, systemPrompt: 'You are a storyteller.' }, log);
  const leftOut = () => lines.filter((line) => line.includes('plugin tools left out of this turn')).length;
  return { engine, leftOut };
};

describe('LlamaEngine with plugin tools offered (real GGUF)', () => {
  it('generates over several turns with the functions offered (a 2048-token context holds them)', async () => {
    const { engine, leftOut } = await engineWith(2048);
    try {
      for (const text of ['Once upon a time', 'and then the fox']) {
        const message = messageIn(90, text);
        const tools = system.registry.toolsFor(message);
        expect(tools.map((tool) => tool.name).sort()).toEqual(['get_weather', 'set_reminder']);
        let tokens = 0;
        await engine.reply(message, { tools, onTokens: (count) => (tokens += count) });
        expect(tokens).toBeGreaterThan(0);
      }
      expect(leftOut()).toBe(0);
    } finally {
      await engine.dispose();
    }
  });

  it('leaves the tools out of a turn whose context cannot hold their descriptions, and still answers', async () => {
    const { engine, leftOut } = await engineWith(256);
    try {
      const message = messageIn(91, 'Once upon a time');
      let tokens = 0;
      await engine.reply(message, { tools: system.registry.toolsFor(message), onTokens: (count) => (tokens += count) });
      expect(tokens).toBeGreaterThan(0);
      expect(leftOut()).toBe(1);
    } finally {
      await engine.dispose();
    }
  });
});
