import { float32ToBase64 } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { apiFetch, clientToken, freshUser } from './api-helpers.js';
import { TestTunnel } from './helpers.js';

const EMBEDDER = 'hearth-hash-v1/4096x512/s322087';
const embed = (token: string, body: unknown) => apiFetch('/v1/embeddings', token, { method: 'POST', body: JSON.stringify(body) });

let core: TestTunnel | undefined;
afterEach(() => {
  core?.close();
  core = undefined;
});

/** A core that lists a chat model and an embedding model of `dimensions`. */
async function connectCore(dimensions = 4) {
  const id = `core-${crypto.randomUUID().slice(0, 8)}`;
  core = await TestTunnel.viaRoute(id);
  core.send({
    type: 'hello',
    core_id: id,
    credits: 2,
    serves_history: true,
    model: { id: 'stories260K', description: 'llama (cpu)' },
    models: [
      { kind: 'chat', id: 'stories260K', description: 'llama (cpu)' },
      { kind: 'embedding', id: EMBEDDER, description: 'built-in', dimensions },
    ],
  });
  await core.next('welcome');
  return core;
}

const vector = (...xs: number[]) => Float32Array.from(xs);

describe('POST /v1/embeddings', () => {
  it('asks a core over the tunnel and answers OpenAI-shaped vectors, as floats or the same bytes in base64', async () => {
    const { token } = await clientToken(freshUser('emb'));
    const tunnel = await connectCore();
    const vectors = [vector(0.5, -0.5, 0.5, -0.5), vector(1 / 3, 0, 0.25, 0.1)];
    for (const format of ['float', 'base64', undefined] as const) {
      const pending = embed(token, { model: 'hearth', input: ['one', 'two'], ...(format ? { encoding_format: format } : {}) });
      const request = await tunnel.next('embed');
      expect(request).toMatchObject({ model: EMBEDDER, input: ['one', 'two'] });
      tunnel.send({ type: 'embed_result', request_id: request.request_id, ok: true, vectors: vectors.map(float32ToBase64), prompt_tokens: 2 });
      const response = await pending;
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { object: string; index: number; embedding: number[] | string }[] };
      expect(body).toMatchObject({ object: 'list', model: EMBEDDER, usage: { prompt_tokens: 2, total_tokens: 2 } });
      expect(body.data.map((d) => [d.object, d.index])).toEqual([['embedding', 0], ['embedding', 1]]);
      if (format === 'base64') {
        // Exactly what the openai SDK decodes: float32 little-endian bytes.
        const bytes = Uint8Array.from(atob(body.data[1]!.embedding as string), (ch) => ch.charCodeAt(0));
        expect(Array.from(new Float32Array(bytes.buffer))).toEqual(Array.from(vectors[1]!));
      } else {
        expect(body.data.map((d) => d.embedding)).toEqual(vectors.map((v) => Array.from(v)));
      }
    }
  });

  it('takes one string, and the embedding model by its id', async () => {
    const { token } = await clientToken(freshUser('emb-one'));
    const tunnel = await connectCore();
    const pending = embed(token, { model: EMBEDDER, input: 'just one', dimensions: 4 });
    const request = await tunnel.next('embed');
    expect(request.input).toEqual(['just one']);
    tunnel.send({ type: 'embed_result', request_id: request.request_id, ok: true, vectors: [float32ToBase64(vector(1, 0, 0, 0))], prompt_tokens: 2 });
    expect(await (await pending).json()).toMatchObject({ data: [{ index: 0, embedding: [1, 0, 0, 0] }] });
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['token ids', { input: [1, 2, 3] }, 'token ids are not supported'],
    ['arrays of token ids', { input: [[1, 2], [3]] }, 'token ids are not supported'],
    ['an empty text', { input: ['a', ''] }, 'input[1]: an empty text'],
    ['no texts', { input: [] }, 'at least one text'],
    ['too many texts', { input: Array.from({ length: 257 }, (_, i) => `t${i}`) }, 'at most 256'],
    ['other dimensions', { input: 'a', dimensions: 2 }, 'shortening vectors is not supported'],
    ['another encoding', { input: 'a', encoding_format: 'int8' }, 'encoding_format'],
    ['the chat model', { model: 'stories260K', input: 'a' }, 'is a chat model'],
  ])('refuses %s with 400, without asking the core', async (_name, body, message) => {
    const tunnel = await connectCore();
    const response = await embed((await clientToken(freshUser())).token, { model: 'hearth', ...body });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain(message);
    expect((await tunnel.barrier()).filter((f) => f.type === 'embed')).toEqual([]);
  });

  it('bounds texts by what one answer frame carries for the model\'s dimensions (400), and their bytes (413)', async () => {
    const { token } = await clientToken(freshUser('emb-big'));
    await connectCore(4096);
    const many = await embed(token, { model: 'hearth', input: Array.from({ length: 36 }, (_, i) => `t${i}`) });
    expect(many.status).toBe(400);
    expect(((await many.json()) as { error: { message: string } }).error.message).toContain('at most 35 texts');
    const big = await embed(token, { model: 'hearth', input: ['x'.repeat(800 * 1024)] });
    expect(big.status).toBe(413);
  });

  it('answers 404 model_not_found for a model no core has, as OpenAI does', async () => {
    await connectCore();
    const response = await embed((await clientToken(freshUser())).token, { model: 'text-embedding-3-small', input: 'a' });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: { code: 'model_not_found', type: 'invalid_request_error' } });
  });

  it('passes on a text too long for the model as 400, and a failure of the core as 502', async () => {
    const { token } = await clientToken(freshUser('emb-fail'));
    const tunnel = await connectCore();
    const long = embed(token, { model: 'hearth', input: 'long' });
    const first = await tunnel.next('embed');
    tunnel.send({ type: 'embed_result', request_id: first.request_id, ok: false, code: 'input_too_long', error: 'input[0] is 9000 tokens' });
    expect((await long).status).toBe(400);
    const failed = embed(token, { model: 'hearth', input: 'x' });
    const second = await tunnel.next('embed');
    tunnel.send({ type: 'embed_result', request_id: second.request_id, ok: false, error: 'boom' });
    expect(await (await failed).json()).toMatchObject({ error: { code: 'core_error' } });
    // A vector of the wrong length is the core's bug, not a 200.
    const wrong = embed(token, { model: 'hearth', input: 'x' });
    const third = await tunnel.next('embed');
    tunnel.send({ type: 'embed_result', request_id: third.request_id, ok: true, vectors: [float32ToBase64(vector(1, 0))], prompt_tokens: 1 });
    expect((await wrong).status).toBe(502);
  });

  it('answers 503 core_offline while no core is connected, and 504 when the core does not answer in time', async () => {
    const { token } = await clientToken(freshUser('emb-slow'));
    const offline = await embed(token, { model: 'hearth', input: 'a' });
    expect(offline.status).toBe(503);
    expect(await offline.json()).toMatchObject({ error: { code: 'core_offline' } });
    const tunnel = await connectCore();
    const pending = embed(token, { model: 'hearth', input: 'a' });
    await tunnel.next('embed');
    const response = await pending;
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: { code: 'core_timeout' } });
  }, 15_000);

  it('needs chat:write', async () => {
    await connectCore();
    const response = await embed((await clientToken(freshUser(), ['chat:read'])).token, { model: 'hearth', input: 'a' });
    expect(response.status).toBe(403);
  });
});

describe('GET /v1/models and /v1/models/{id}', () => {
  it('lists the chat and the embedding model, and gets each by id (slashes plain or %2F), hearth as the chat model', async () => {
    const { token } = await clientToken(freshUser('models'));
    await connectCore();
    expect(await (await apiFetch('/v1/models', token)).json()).toMatchObject({
      object: 'list',
      data: [
        { id: 'stories260K', object: 'model', owned_by: 'hearth', kind: 'chat' },
        { id: EMBEDDER, object: 'model', owned_by: 'hearth', kind: 'embedding', dimensions: 4 },
      ],
    });
    expect(await (await apiFetch(`/v1/models/${encodeURIComponent(EMBEDDER)}`, token)).json()).toMatchObject({ id: EMBEDDER, kind: 'embedding' });
    expect(await (await apiFetch(`/v1/models/${EMBEDDER}`, token)).json()).toMatchObject({ id: EMBEDDER });
    expect(await (await apiFetch('/v1/models/stories260K', token)).json()).toMatchObject({ id: 'stories260K', object: 'model', created: 0 });
    expect(await (await apiFetch('/v1/models/hearth', token)).json()).toMatchObject({ id: 'stories260K' });
    const missing = await apiFetch('/v1/models/gpt-4o', token);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'model_not_found', type: 'invalid_request_error', message: expect.stringContaining('gpt-4o') } });
  });
});

describe('model in /v1/chat/completions', () => {
  const complete = (token: string, model: string) =>
    apiFetch('/v1/chat/completions', token, { method: 'POST', body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }) });

  it('is matched against the connected cores: unknown is 404 model_not_found, nothing queued; hearth or the id is delivered', async () => {
    const { token } = await clientToken(freshUser('oai-model'));
    const tunnel = await connectCore();
    const unknown = await complete(token, 'gpt-4o');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'model_not_found', type: 'invalid_request_error' } });
    expect((await tunnel.barrier()).filter((f) => f.type === 'deliver')).toEqual([]);
    for (const model of ['hearth', 'stories260K']) {
      const pending = complete(token, model);
      const delivery = await tunnel.next('deliver');
      tunnel.send({ type: 'ack', message_id: delivery.message_id, reply: { key: `reply:${delivery.message_id}`, text: 'Hello' } });
      expect((await pending).status).toBe(200);
    }
  });

  it('is not checked while no core is connected (503 core_offline, as before)', async () => {
    const response = await complete((await clientToken(freshUser())).token, 'gpt-4o');
    expect(response.status).toBe(503);
  });
});
