import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * `/v1/embeddings` and `/v1/models/{id}` end to end: the official `openai` client against the
 * real edge under workerd, the vectors computed by a real core with its built-in embedder.
 */
let system: System;
let openai: OpenAI;
beforeAll(async () => {
  system = await startSystem();
  openai = new OpenAI({ apiKey: await issueToken(system, 'eve'), baseURL: `${system.edge.url}/v1`, maxRetries: 0, timeout: 60_000 });
});
afterAll(() => system?.stop());

const cosine = (a: number[], b: number[]) => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);

describe('embeddings through the official openai client', () => {
  it('gives unit vectors of a fixed dimension; float and base64 (the SDK\'s default, decoded by it) are the same numbers', async () => {
    const input = ['my dentist appointment is on Tuesday morning', 'Tuesday morning: the dentist appointment', 'quarterly invoices for the accountant'];
    const asBase64 = await openai.embeddings.create({ model: 'hearth', input });
    const asFloat = await openai.embeddings.create({ model: 'hearth', input, encoding_format: 'float' });
    expect(asFloat.model).toMatch(/^hearth-hash-v1\//);
    expect(asFloat.data.map((d) => [d.object, d.index, d.embedding.length])).toEqual([0, 1, 2].map((i) => ['embedding', i, 512]));
    expect(asBase64.data.map((d) => d.embedding)).toEqual(asFloat.data.map((d) => d.embedding));
    const [same, similar, unrelated] = asFloat.data.map((d) => d.embedding) as [number[], number[], number[]];
    expect(cosine(same, same)).toBeCloseTo(1, 5);
    // The built-in embedder matches shared words: these share dentist, appointment, Tuesday, morning.
    expect(cosine(same, similar)).toBeGreaterThan(cosine(same, unrelated) + 0.2);
    expect(asFloat.usage.prompt_tokens).toBeGreaterThan(0);
    // The model's id works as well as hearth.
    const byId = await openai.embeddings.create({ model: asFloat.model, input: input[0]!, encoding_format: 'float' });
    expect(byId.data[0]?.embedding).toEqual(same);
  });

  it('refuses a model the core does not have as a NotFoundError, and token ids as a BadRequestError', async () => {
    await expect(openai.embeddings.create({ model: 'text-embedding-3-small', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(openai.embeddings.create({ model: 'hearth', input: [1, 2, 3] })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });
});

describe('models through the official openai client', () => {
  it('lists the chat and the embedding model, retrieves each, and 404s an unknown one', async () => {
    const { data } = await openai.models.list();
    expect(data.map((m) => m.id)).toEqual(['stories260K', expect.stringMatching(/^hearth-hash-v1\//)]);
    expect(await openai.models.retrieve('stories260K')).toMatchObject({ id: 'stories260K', object: 'model', owned_by: 'hearth' });
    // Its id holds slashes: the SDK sends them as %2F.
    expect((await openai.models.retrieve(data[1]!.id)).id).toBe(data[1]!.id);
    await expect(openai.models.retrieve('gpt-4o')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('matches model in chat completions: an unknown one is a NotFoundError, hearth is the core\'s model', async () => {
    await expect(openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const completion = await openai.chat.completions.create({ model: 'hearth', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8 });
    expect(completion.choices[0]?.message.role).toBe('assistant');
  });
});
