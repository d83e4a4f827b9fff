import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, jsonSchema, tool } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Function calling and structured output end to end, as agent frameworks use a local server:
 * the real edge under workerd, a real core on stories260K, and the official `openai` client, the
 * Vercel AI SDK (`@ai-sdk/openai-compatible`) and LangChain (`ChatOpenAI.bindTools`) pointed at
 * the edge. The model knows no functions: a grammar holds its answer to a call when the client
 * requires one, so the calls here are the model's own, in the shape each client expects.
 */
let system: System;
let token: string;
beforeAll(async () => {
  system = await startSystem();
  token = await issueToken(system, 'ada');
});
afterAll(() => system?.stop());

const MODEL = 'stories260K';
const openai = () => new OpenAI({ apiKey: token, baseURL: `${system.edge.url}/v1`, maxRetries: 0, timeout: 60_000 });

// Enums keep a model that never ends a string inside the token limit; its 512-token vocabulary
// spends about a token a character, so a call takes some 60 of them.
const CITY = { type: 'object', properties: { city: { type: 'string', enum: ['Paris', 'Oslo', 'Lima'] } }, required: ['city'], additionalProperties: false } as const;
const WEATHER: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'get_weather', description: 'The weather in a city', parameters: CITY } };
const TIME: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'get_time', description: 'The time now', parameters: { type: 'object', properties: {} } } };

const cityOf = (args: string) => (JSON.parse(args) as { city: unknown }).city;

describe('the official openai client', () => {
  it('gets a call for tool_choice "required", then a text answer after the tool result', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is the weather in Paris?' }];
    const first = await openai().chat.completions.create({ model: MODEL, messages, tools: [WEATHER], tool_choice: 'required', max_tokens: 160 });
    const choice = first.choices[0];
    expect(choice?.finish_reason).toBe('tool_calls');
    const call = choice?.message.tool_calls?.[0];
    if (!choice || call?.type !== 'function') throw new Error(`no function call: ${JSON.stringify(first.choices)}`);
    expect(call.function.name).toBe('get_weather');
    expect(['Paris', 'Oslo', 'Lima']).toContain(cityOf(call.function.arguments));

    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: JSON.stringify({ sky: 'sunny', celsius: 21 }) });
    const second = await openai().chat.completions.create({ model: MODEL, messages, tools: [WEATHER], max_tokens: 24 });
    expect(second.choices[0]?.message.tool_calls ?? []).toEqual([]);
    expect(second.choices[0]?.message.content?.trim().length).toBeGreaterThan(0);
  });

  it('calls the function a named tool_choice names', async () => {
    const completion = await openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Tell me about Oslo' }],
      tools: [WEATHER, TIME],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
      max_tokens: 160,
    });
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function.name).toBe('get_time');
    expect(call?.type === 'function' && JSON.parse(call.function.arguments)).toEqual({});
  });

  it('streams the call as delta.tool_calls that reassemble into the same call', async () => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Weather in Lima?' }], tools: [WEATHER], tool_choice: 'required' as const, max_tokens: 160 };
    const whole = await openai().chat.completions.create(request);
    const stream = await openai().chat.completions.create({ ...request, stream: true });
    const calls: { id?: string; name: string; arguments: string }[] = [];
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      for (const part of chunk.choices[0]?.delta.tool_calls ?? []) {
        calls[part.index] ??= { name: '', arguments: '' };
        const call = calls[part.index]!;
        if (part.id) call.id = part.id;
        call.name += part.function?.name ?? '';
        call.arguments += part.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(finish).toBe('tool_calls');
    const wholeCall = whole.choices[0]?.message.tool_calls?.[0];
    if (wholeCall?.type !== 'function') throw new Error('no function call');
    // Greedy decoding of one prompt: the same call, whichever way it travelled (ids are per answer).
    expect(calls).toHaveLength(1);
    expect({ name: calls[0]?.name, arguments: calls[0]?.arguments }).toEqual({ name: wholeCall.function.name, arguments: wholeCall.function.arguments });
    expect(calls[0]?.id).toMatch(/^call_/);
  });

  it('answers a json_schema response format with JSON that parses and matches the schema', async () => {
    const schema = { type: 'object', properties: { mood: { type: 'string', enum: ['happy', 'sad'] }, stars: { type: 'integer', enum: [1, 2, 3, 4, 5] } }, required: ['mood', 'stars'], additionalProperties: false };
    const completion = await openai().chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'How was the story?' }],
      response_format: { type: 'json_schema', json_schema: { name: 'review', schema, strict: true } },
      max_tokens: 160,
    });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    const review = JSON.parse(completion.choices[0]?.message.content ?? '') as Record<string, unknown>;
    expect(Object.keys(review).sort()).toEqual(['mood', 'stars']);
    expect(['happy', 'sad']).toContain(review.mood);
    expect([1, 2, 3, 4, 5]).toContain(review.stars);
  });
});

describe('agent frameworks', () => {
  it('the Vercel AI SDK (generateText with a tool) gets the tool call back unchanged', async () => {
    const provider = createOpenAICompatible({ name: 'hearth', baseURL: `${system.edge.url}/v1`, apiKey: token });
    const result = await generateText({
      model: provider.chatModel(MODEL),
      prompt: 'What is the weather in Paris?',
      tools: { get_weather: tool({ description: 'The weather in a city', inputSchema: jsonSchema<{ city: string }>(CITY) }) },
      toolChoice: 'required',
      maxOutputTokens: 160,
      maxRetries: 0,
    });
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toHaveLength(1);
    expect(result.toolCalls[0]?.toolName).toBe('get_weather');
    expect(result.toolCalls[0]?.input).toMatchObject({ city: expect.stringMatching(/^(Paris|Oslo|Lima)$/) });
  });

  it('LangChain (ChatOpenAI.bindTools) gets the tool call back unchanged', async () => {
    const chat = new ChatOpenAI({ model: MODEL, apiKey: token, configuration: { baseURL: `${system.edge.url}/v1` }, maxRetries: 0, maxTokens: 160 });
    const message = await chat.bindTools([WEATHER], { tool_choice: 'required' }).invoke('What is the weather in Oslo?');
    expect(message.tool_calls).toHaveLength(1);
    expect(message.tool_calls?.[0]?.name).toBe('get_weather');
    expect(['Paris', 'Oslo', 'Lima']).toContain(message.tool_calls?.[0]?.args.city);
    expect(message.tool_calls?.[0]?.id).toMatch(/^call_/);
  });
});
