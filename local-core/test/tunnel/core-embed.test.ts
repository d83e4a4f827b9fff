import { type CoreFrame, base64ToFloat32 } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { dot } from '../../src/recall/embedder.js';
import { startEchoCore } from './echo-core.js';
import { type LoopbackEdge, startLoopbackEdge } from './loopback-edge.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const resultOf = (requestId: string) => (frame: CoreFrame): frame is Extract<CoreFrame, { type: 'embed_result' }> =>
  frame.type === 'embed_result' && frame.request_id === requestId;

async function connected(): Promise<{ edge: LoopbackEdge; embedder: string }> {
  const edge = await startLoopbackEdge();
  cleanups.push(() => edge.close());
  const core = await startEchoCore(edge.url, 'core-e');
  cleanups.push(core.stop);
  const hello = await edge.next((f): f is Extract<CoreFrame, { type: 'hello' }> => f.type === 'hello');
  const embedding = hello.models?.find((m) => m.kind === 'embedding');
  if (embedding?.kind !== 'embedding') throw new Error('hello lists no embedding model');
  expect(hello.models?.[0]).toEqual({ kind: 'chat', id: 'echo', description: expect.any(String) });
  expect(embedding).toMatchObject({ id: expect.stringMatching(/^hearth-hash-v1\//), dimensions: 512 });
  return { edge, embedder: embedding.id };
}

describe('the core answers embed requests over its tunnel with the built-in embedder (recall off)', () => {
  // prompt_tokens: the built-in embedder has no tokenizer, so words are counted.
  it('lists its embedding model in hello and answers one unit float32 vector per text, in order', async () => {
    const { edge, embedder } = await connected();
    edge.send({ type: 'embed', request_id: 'e1', model: embedder, input: ['the dentist on Tuesday', 'dentist appointment on Tuesday', 'quarterly tax forms'] });
    const result = await edge.next(resultOf('e1'));
    expect(result).toMatchObject({ ok: true, prompt_tokens: 11 });
    const [a, b, c] = (result.vectors ?? []).map((v) => base64ToFloat32(v)!);
    expect([a, b, c].map((v) => v?.length)).toEqual([512, 512, 512]);
    expect(dot(a!, a!)).toBeCloseTo(1, 5);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
  });

  it('refuses another model with ok: false, and the tunnel goes on', async () => {
    const { edge, embedder } = await connected();
    edge.send({ type: 'embed', request_id: 'e2', model: 'text-embedding-3-small', input: ['x'] });
    expect(await edge.next(resultOf('e2'))).toMatchObject({ ok: false, code: 'model_not_found', error: expect.stringContaining(embedder) });
    edge.send({ type: 'embed', request_id: 'e3', model: embedder, input: ['x'] });
    expect(await edge.next(resultOf('e3'))).toMatchObject({ ok: true });
  });
});
