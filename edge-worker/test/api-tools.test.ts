import { MessageSchema, unseal } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { apiFetch, clientToken, closeApiCores, connectApiCore, freshUser } from './api-helpers.js';
import { coreKeys } from './helpers.js';

/** The OpenAI function-calling fields at the edge: carried sealed to the core, its calls answered OpenAI-shaped. */
const complete = (token: string, body: unknown) => apiFetch('/v1/chat/completions', token, { method: 'POST', body: JSON.stringify(body) });

const WEATHER = {
  type: 'function',
  function: { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const request = (extra: Record<string, unknown> = {}) => ({
  model: 'stories260K',
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  tools: [WEATHER],
  ...extra,
});
const CALL = { id: 'call_0123456789abcdef01234567', name: 'get_weather', arguments: '{"city":"Paris"}' };

afterEach(closeApiCores);

const connectCore = () => connectApiCore({ id: 'stories260K', description: 'llama (cpu)' });

const opened = async (delivery: { sealed: string }) => MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));

describe('POST /v1/chat/completions with tools', () => {
  it('carries the functions and the choice to the core, and answers its call with finish_reason tool_calls and no content', async () => {
    const { token } = await clientToken(freshUser('tools'));
    const tunnel = await connectCore();
    const pending = complete(token, request({ tool_choice: { type: 'function', function: { name: 'get_weather' } }, parallel_tool_calls: false }));
    const delivery = await tunnel.next('deliver');
    const message = await opened(delivery);
    expect(message.completion).toMatchObject({
      tools: [{ name: 'get_weather', description: 'The weather in a city', parameters: WEATHER.function.parameters }],
      tool_choice: { name: 'get_weather' },
      parallel_tool_calls: false,
    });
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: '', tool_calls: [CALL], finish_reason: 'tool_calls' } });
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      choices: [
        {
          finish_reason: 'tool_calls',
          message: { role: 'assistant', content: null, tool_calls: [{ id: CALL.id, type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        },
      ],
    });
  });

  it('streams a call as OpenAI does: its id and name, then its arguments, then finish_reason tool_calls', async () => {
    const { token } = await clientToken(freshUser('tools-stream'));
    const tunnel = await connectCore();
    const pending = complete(token, request({ stream: true, tool_choice: 'required' }));
    const delivery = await tunnel.next('deliver');
    const second = { ...CALL, id: 'call_second', arguments: '{"city":"Oslo"}' };
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: '', tool_calls: [CALL, second], finish_reason: 'tool_calls' } });
    const data = (await (await pending).text()).split('\n\n').filter(Boolean).map((event) => event.replace(/^data: /, ''));
    expect(data.at(-1)).toBe('[DONE]');
    type Delta = { tool_calls?: { index: number; id?: string; function: { name?: string; arguments: string } }[] };
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: { delta: Delta; finish_reason: string | null }[] });
    // Reassembled as clients do: by index, names and arguments concatenated.
    const calls: { id?: string; name: string; arguments: string }[] = [];
    for (const part of chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? [])) {
      calls[part.index] ??= { name: '', arguments: '' };
      const call = calls[part.index]!;
      if (part.id) call.id = part.id;
      call.name += part.function.name ?? '';
      call.arguments += part.function.arguments;
    }
    expect(calls).toEqual([
      { id: CALL.id, name: 'get_weather', arguments: '{"city":"Paris"}' },
      { id: 'call_second', name: 'get_weather', arguments: '{"city":"Oslo"}' },
    ]);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('sends a request that ends with tool results whole in history, no text, each result with the call it answers', async () => {
    const { token } = await clientToken(freshUser('tools-results'));
    const tunnel = await connectCore();
    const pending = complete(
      token,
      request({
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [{ id: CALL.id, type: 'function', function: { name: CALL.name, arguments: CALL.arguments } }] },
          { role: 'tool', tool_call_id: CALL.id, content: '{"sky":"sunny"}' },
        ],
      }),
    );
    const delivery = await tunnel.next('deliver');
    const message = await opened(delivery);
    expect(message.content.text).toBe('');
    expect(message.completion?.history).toEqual([
      { role: 'user', text: 'Weather in Paris?' },
      { role: 'assistant', text: '', tool_calls: [CALL] },
      { role: 'tool', text: '{"sky":"sunny"}', tool_call_id: CALL.id },
    ]);
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'It is sunny.' } });
    expect(await (await pending).json()).toMatchObject({ choices: [{ finish_reason: 'stop', message: { content: 'It is sunny.' } }] });
  });

  it('carries response_format (json_schema with its schema; a json_schema without one is json_object; text is nothing) and answers finish_reason length', async () => {
    const { token } = await clientToken(freshUser('tools-format'));
    const tunnel = await connectCore();
    const schema = { type: 'object', properties: { mood: { type: 'string' } } };
    const formats: [unknown, unknown][] = [
      [{ type: 'json_schema', json_schema: { name: 'mood', schema, strict: true } }, { type: 'json_schema', name: 'mood', schema }],
      [{ type: 'json_schema', json_schema: { name: 'any' } }, { type: 'json_object' }],
      [{ type: 'json_object' }, { type: 'json_object' }],
      [{ type: 'text' }, undefined],
    ];
    for (const [format, carried] of formats) {
      const pending = complete(token, { model: 'stories260K', messages: [{ role: 'user', content: 'Mood?' }], response_format: format });
      const delivery = await tunnel.next('deliver');
      expect((await opened(delivery)).completion?.response_format).toEqual(carried);
      tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: '{"mood": "hap', finish_reason: 'length' } });
      expect(await (await pending).json()).toMatchObject({ choices: [{ finish_reason: 'length' }] });
    }
  });

  it.each<[string, Record<string, unknown>]>([
    ['a tool_choice naming no offered tool', { tool_choice: { type: 'function', function: { name: 'nope' } } }],
    ['tool_choice required without tools', { tools: [], tool_choice: 'required' }],
    ['two tools of one name', { tools: [WEATHER, WEATHER] }],
    ['a function name with spaces', { tools: [{ type: 'function', function: { name: 'get weather' } }] }],
    ['a tool that is not a function', { tools: [{ type: 'code_interpreter' }] }],
    ['a tool result answering no call', { messages: [{ role: 'user', content: 'a' }, { role: 'tool', tool_call_id: 'call_x', content: 'r' }] }],
    ['the deprecated function role', { messages: [{ role: 'function', name: 'f', content: 'r' }, { role: 'user', content: 'a' }] }],
    ['a response_format that is not one', { response_format: { type: 'xml' } }],
  ])('refuses %s with 400', async (_name, extra) => {
    const response = await complete((await clientToken(freshUser())).token, request(extra));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error' } });
  });
});
