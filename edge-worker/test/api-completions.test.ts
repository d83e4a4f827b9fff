import { MessageSchema, unseal } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { apiFetch, clientToken, closeApiCores, connectApiCore, freshUser } from './api-helpers.js';
import { coreKeys, waitFor } from './helpers.js';

const complete = (token: string, body: unknown) => apiFetch('/v1/chat/completions', token, { method: 'POST', body: JSON.stringify(body) });
const request = (extra: Record<string, unknown> = {}) => ({
  model: 'stories260K',
  messages: [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello!' },
    { role: 'user', content: [{ type: 'text', text: 'Tell me ' }, { type: 'text', text: 'a story' }] },
  ],
  max_tokens: 32,
  temperature: 0.2,
  ...extra,
});

afterEach(closeApiCores);

const connectCore = () => connectApiCore({ id: 'stories260K', description: 'llama (cpu)' });

describe('POST /v1/chat/completions', () => {
  it('queues a stateless completion (history and settings sealed in the message) and answers OpenAI-shaped', async () => {
    const { token } = await clientToken(freshUser('oai'));
    const tunnel = await connectCore();
    const pending = complete(token, request());
    const delivery = await tunnel.next('deliver');
    const message = MessageSchema.parse(JSON.parse(await unseal(delivery.sealed, coreKeys())));
    expect(message.conversation.id).toMatch(/^api:oai-[^:]+:completion\.[0-9a-f-]{36}$/);
    expect(message.content.text).toBe('Tell me a story');
    expect(message.completion).toEqual({
      history: [
        { role: 'system', text: 'Be brief.' },
        { role: 'user', text: 'Hi' },
        { role: 'assistant', text: 'Hello!' },
      ],
      model: 'stories260K',
      max_tokens: 32,
      temperature: 0.2,
    });
    tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 0, text: 'Once' });
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'Once upon a time.' } });
    const response = await pending;
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      model: 'stories260K',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Once upon a time.' }, finish_reason: 'stop' }],
    });
  });

  it('streams chunks as the core writes, then the rest of the reply, a stop chunk and [DONE]', async () => {
    const { token } = await clientToken(freshUser('oai-stream'));
    const tunnel = await connectCore();
    const pending = complete(token, request({ stream: true }));
    const delivery = await tunnel.next('deliver');
    tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 0, text: 'Once' });
    const response = await pending;
    expect(response.headers.get('Content-Type')).toContain('text/event-stream');
    tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 1, text: ' upon' });
    tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'Once upon a time' } });
    const body = await response.text();
    const data = body.split('\n\n').filter(Boolean).map((event) => event.replace(/^data: /, ''));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { object: string; choices: { delta: { content?: string }; finish_reason: string | null }[] });
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Once upon a time');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('says what the model read and wrote: usage in the answer, and in a last chunk when a stream asks for it', async () => {
    const { token } = await clientToken(freshUser('oai-usage'));
    const tunnel = await connectCore();
    const usage = { prompt_tokens: 21, completion_tokens: 5 };
    const answer = async (delivery: { message_id: string }) =>
      tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'Once upon a time', usage } });

    const whole = complete(token, request());
    await answer(await tunnel.next('deliver'));
    expect(await (await whole).json()).toMatchObject({ usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 } });

    const streamed = complete(token, request({ stream: true, stream_options: { include_usage: true } }));
    await answer(await tunnel.next('deliver'));
    const data = (await (await streamed).text()).split('\n\n').filter(Boolean).map((event) => event.replace(/^data: /, ''));
    expect(data.at(-1)).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as { choices: unknown[]; usage?: unknown });
    expect(chunks.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 21, completion_tokens: 5, total_tokens: 26 } });
    expect(chunks.slice(0, -1).every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);

    // Not asked for: no usage chunk.
    const plain = complete(token, request({ stream: true }));
    await answer(await tunnel.next('deliver'));
    expect((await (await plain).text()).includes('"usage"')).toBe(false);
  });

  it('stops the generation when the caller of a streamed completion goes away', async () => {
    const { token } = await clientToken(freshUser('oai-gone'));
    const tunnel = await connectCore();
    const pending = complete(token, request({ stream: true }));
    const delivery = await tunnel.next('deliver');
    tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: 0, text: 'Once' });
    const reader = (await pending).body!.getReader();
    await reader.read();
    await reader.cancel();
    // The next pieces find nobody reading: the Relay stops the core well before the 5 s limit
    // (which would stop it too, as the test above shows). The core streams on until told.
    const cancel = tunnel.next('cancel', 3_000);
    let told = false;
    const tell = () => {
      told = true;
    };
    cancel.then(tell, tell);
    let seq = 0;
    await waitFor(async () => {
      if (told) return true;
      tunnel.send({ type: 'partial', message_id: delivery.message_id, seq: ++seq, text: ` piece ${seq}` });
      return undefined;
    }, 'the cancel');
    expect(await cancel).toMatchObject({ message_id: delivery.message_id });
  });

  it('answers 503 core_offline at once when no core is connected', async () => {
    const response = await complete((await clientToken(freshUser())).token, request());
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ error: { code: 'core_offline', type: 'server_error' } });
  });

  it('answers 504 when the core takes too long, and takes the request back from it', async () => {
    const { token } = await clientToken(freshUser('oai-slow'));
    const tunnel = await connectCore();
    const pending = complete(token, request());
    const delivery = await tunnel.next('deliver');
    const response = await pending;
    expect(response.status).toBe(504);
    expect(await tunnel.next('cancel')).toMatchObject({ message_id: delivery.message_id });
  }, 15_000);

  it.each<[string, unknown, number]>([
    ['a last message that is not the user\'s', request({ messages: [{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }] }), 400],
    ['a tool message', request({ messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }, { role: 'user', content: 'a' }] }), 400],
    ['an image part', request({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }), 400],
    ['n > 1', request({ n: 3 }), 400],
    ['no messages', request({ messages: [] }), 400],
  ])('refuses %s with 400', async (_name, body, status) => {
    const response = await complete((await clientToken(freshUser())).token, body);
    expect(response.status).toBe(status);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_request', type: 'invalid_request_error' } });
  });
});

describe('GET /v1/models', () => {
  it('lists the models of connected cores', async () => {
    const { token } = await clientToken(freshUser('models'));
    await connectCore();
    const response = await apiFetch('/v1/models', token);
    expect(await response.json()).toMatchObject({ object: 'list', data: [{ id: 'stories260K', object: 'model', owned_by: 'hearth' }] });
  });
});
