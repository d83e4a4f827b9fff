import type { Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationStop, ReplyOptions } from '../src/inference/engine.js';
import { LlamaEngine } from '../src/inference/llama-engine.js';
import { TEST_MODEL, silentLogger } from './support.js';

/**
 * OpenAI-style client functions and structured output on the real model. stories260K knows no
 * functions and no JSON: what holds its answer to a call of the client's function, or to the
 * schema, is the grammar, which is the point (any GGUF a user names gets the same).
 */
let engine: LlamaEngine;
beforeAll(async () => {
  engine = await LlamaEngine.create(
    { modelPath: TEST_MODEL, modelsDirs: [], threads: 1, sequences: 1, contextSize: 1024, maxTokens: 96, systemPrompt: 'You are a helpful assistant.' },
    silentLogger(),
  );
});
afterAll(() => engine?.dispose());

const say = (n: number, text: string): Message => ({
  message_id: `tools:${n}`,
  platform: 'api',
  conversation: { id: `api:ada:completion.tools${n}`, type: 'private' },
  sender: { id: 'api:ada' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: n,
});

const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo'] }, days: { type: 'integer', enum: [1, 2, 3] } }, required: ['city', 'days'] },
};
const TIME = { name: 'get_time', description: 'The time now' };

async function run(n: number, text: string, options: ReplyOptions): Promise<{ text: string; stop: GenerationStop | undefined; streamed: string }> {
  let stop: GenerationStop | undefined;
  let streamed = '';
  const reply = await engine.reply(say(n, text), {
    ephemeral: true,
    history: { generation: 0, turns: [] },
    onText: (chunk) => {
      streamed += chunk;
    },
    onStop: (end) => {
      stop = end;
    },
    ...options,
  });
  return { text: reply, stop, streamed };
}

describe('client tools and response formats (real GGUF)', () => {
  it('answers tool_choice "required" with one call of an offered function, arguments matching its schema, and streams none of it as text', async () => {
    const { text, stop, streamed } = await run(1, 'What is the weather in Paris?', { clientTools: { tools: [WEATHER, TIME], choice: 'required', parallel: true } });
    expect(stop?.reason).toBe('tool_calls');
    expect(stop?.toolCalls).toHaveLength(1);
    const [call] = stop?.toolCalls ?? [];
    expect(['get_weather', 'get_time']).toContain(call?.name);
    expect(call?.id).toMatch(/^call_[0-9a-f]{24}$/);
    const args = JSON.parse(call?.arguments ?? 'null');
    if (call?.name === 'get_weather') {
      expect(['Paris', 'Oslo']).toContain(args.city);
      expect([1, 2, 3]).toContain(args.days);
    } else expect(args).toEqual({});
    expect(text).toBe('');
    expect(streamed).toBe('');
  });

  it('calls the function a named tool_choice names, and no other', async () => {
    const { stop } = await run(2, 'Tell me a story', { clientTools: { tools: [WEATHER, TIME], choice: { name: 'get_time' }, parallel: false } });
    expect(stop?.toolCalls?.map((call) => call.name)).toEqual(['get_time']);
  });

  it('goes on after the tool results (the model reads the call and what it answered) with text', async () => {
    const { text, stop } = await run(3, '', {
      continueTurn: true,
      history: {
        generation: 0,
        turns: [
          { role: 'user', text: 'What is the weather in Paris?' },
          { role: 'assistant', text: '', calls: [{ name: 'get_weather', arguments: '{"city":"Paris","days":1}', result: '{"sky":"sunny"}' }] },
        ],
      },
      clientTools: { tools: [WEATHER], choice: 'auto', parallel: true },
    });
    expect(stop?.reason === 'stop' || stop?.reason === 'length').toBe(true);
    expect(text.length).toBeGreaterThan(0);
  });

  it('holds the reply to a json_schema response format: it parses and matches the schema', async () => {
    const schema = { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad'] }, stars: { type: 'integer', enum: [1, 2, 3, 4, 5] } }, required: ['mood', 'stars'] };
    const { text, stop } = await run(4, 'Rate the story', { responseFormat: { type: 'json_schema', schema } });
    expect(stop?.reason).toBe('stop');
    const value = JSON.parse(text);
    expect(Object.keys(value).sort()).toEqual(['mood', 'stars']);
    expect(['happy', 'sad']).toContain(value.mood);
    expect([1, 2, 3, 4, 5]).toContain(value.stars);
  });

  it('holds the reply to json_object to a JSON object, and says when max_tokens cut it (finish length)', async () => {
    // This model writes one endless string value: the grammar keeps it inside the object, the limit ends it.
    const { text, stop } = await run(5, 'Describe the dog as JSON', { responseFormat: { type: 'json_object' }, maxTokens: 48 });
    expect(text.startsWith('{')).toBe(true);
    expect(stop?.reason).toBe('length');
  });
});
