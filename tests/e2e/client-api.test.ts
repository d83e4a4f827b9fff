import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device, hearthCli, issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * The client API end to end: the real edge under workerd, a real core on a real GGUF, and
 * clients as users run them: the official `openai` npm client pointed at the edge with a
 * Hearth token as its API key, and two WebSocket devices of one user.
 */
let system: System;
let token: string;
let api: (path: string, init?: RequestInit) => Promise<Response>;
beforeAll(async () => {
  system = await startSystem();
  token = await issueToken(system, 'ada');
  api = (path, init = {}) =>
    fetch(`${system.edge.url}${path}`, { ...init, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
});
afterAll(() => system?.stop());

const openai = (apiKey = token) => new OpenAI({ apiKey, baseURL: `${system.edge.url}/v1`, maxRetries: 0, timeout: 60_000 });

describe('the official openai client against the edge', () => {
  it('lists the core\'s model', async () => {
    const models = await openai().models.list();
    // The chat model, and the embedding model of /v1/embeddings (see embeddings.test.ts).
    expect(models.data.map((m) => m.id)).toEqual(['stories260K', expect.stringMatching(/^hearth-hash-v1\//)]);
  });

  it('gets a completion the model wrote', async () => {
    const completion = await openai().chat.completions.create({
      model: 'stories260K',
      messages: [{ role: 'user', content: 'Once upon a time there was a little dog' }],
      max_tokens: 24,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.role).toBe('assistant');
    expect(completion.choices[0]?.message.content?.trim().length).toBeGreaterThan(0);
    // What the model read (the question in its chat template) and wrote (at most max_tokens).
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(5);
    expect(usage.completion_tokens).toBeGreaterThan(0);
    expect(usage.completion_tokens).toBeLessThanOrEqual(24);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it('streams a completion chunk by chunk', async () => {
    const stream = await openai().chat.completions.create({
      model: 'stories260K',
      messages: [
        { role: 'system', content: 'You tell stories.' },
        { role: 'user', content: 'Tell me about a cat' },
      ],
      max_tokens: 48,
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) pieces.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(usage?.completion_tokens).toBeGreaterThan(1);
    expect(usage?.completion_tokens).toBeLessThanOrEqual(48);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('').trim().length).toBeGreaterThan(0);
    // Cut by max_tokens is `length`, as OpenAI says it; the model ending by itself is `stop`.
    expect(finish).toBe(usage?.completion_tokens === 48 ? 'length' : 'stop');
  });

  it('is refused with a bad key, as an AuthenticationError', async () => {
    await expect(openai('not-a-token').models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('keeps completions out of the user\'s conversations', async () => {
    const response = await api('/v1/conversations');
    const { data } = (await response.json()) as { data: { conversation_id: string }[] };
    expect(data.filter((c) => c.conversation_id.startsWith('completion.'))).toEqual([]);
  });
});

describe('one user, two devices', () => {
  it('shows a message sent on one on the other, streams the reply to both, and catches a device up from its cursor', async () => {
    const phone = await Device.connect(system.edge.url, token);
    const laptop = await Device.connect(system.edge.url, token);
    expect(phone.protocol).toBe('hearth.v1');

    const sent = await api('/v1/messages', { method: 'POST', body: JSON.stringify({ conversation_id: 'sync-1', text: 'Once upon a time', client_id: 'p1' }), headers: { 'X-Hearth-Device': 'phone' } });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    expect((await laptop.next('message', (e) => e.item.message_id === id)).item).toMatchObject({ role: 'user', device: 'phone' });
    const replies = await Promise.all([phone, laptop].map((d) => d.next('message', (e) => e.item.in_reply_to === id)));
    expect(replies[0]!.item.text.trim().length).toBeGreaterThan(0);
    expect(replies[1]!.item).toEqual(replies[0]!.item);
    // The reply streamed as it was written, to both (stories260K writes more than one piece).
    for (const device of [phone, laptop]) expect(device.events.some((e) => e.type === 'delta' && e.in_reply_to === id)).toBe(true);

    // The laptop goes offline; the phone talks on, over its socket this time.
    const seen = laptop.messages().at(-1)!.cursor;
    await laptop.close();
    phone.send({ type: 'send', conversation_id: 'sync-1', text: 'The end', client_id: 'p2' });
    const accepted = await phone.next('accepted');
    const later = await phone.next('message', (e) => e.item.in_reply_to === accepted.id);

    // Back online from its cursor: what it missed comes from the core's history, then live.
    const back = await Device.connect(system.edge.url, token, seen);
    expect(back.messages().map((m) => [m.role, m.message_id, m.text])).toEqual([
      ['user', accepted.id, 'The end'],
      ['assistant', `reply:${accepted.id}`, later.item.text],
    ]);
    await back.close();
    await phone.close();

    // The history holds the whole conversation in order, with the same cursors the live stream gave.
    const history = (await (await api('/v1/conversations/sync-1/messages')).json()) as { data: { message_id: string; cursor: string }[]; has_more: boolean };
    expect(history.data.map((m) => m.message_id)).toEqual([id, `reply:${id}`, accepted.id, `reply:${accepted.id}`]);
    expect(history.data[1]!.cursor).toBe(replies[0]!.item.cursor);
    const list = (await (await api('/v1/conversations')).json()) as { data: { conversation_id: string; turns: number }[] };
    expect(list.data).toContainEqual(expect.objectContaining({ conversation_id: 'sync-1', turns: 4 }));
  });
});

describe('tokens the owner manages with the CLI', () => {
  it('refuses a token once `hearth token revoke` told the edge', async () => {
    const doomed = await issueToken(system, 'bob');
    expect((await openai(doomed).models.list()).data.length).toBe(2); // the chat and the embedding model
    await hearthCli(system, ['token', 'revoke', doomed]);
    const error = await openai(doomed).models.list().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('revoked');
    // Ada's token is untouched.
    expect((await openai().models.list()).data.length).toBe(2);
  });

  it('gives a token only the scopes asked for', async () => {
    const reader = await issueToken(system, 'carol', ['chat:read']);
    const error = await openai(reader).chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});
