import { type CoreFrame, generateCoreKeySet } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { TunnelClient, type TunnelClientOptions } from '../../src/tunnel/client.js';
import { silentLogger } from '../support.js';
import { startLoopbackEdge } from './loopback-edge.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function connect(extra: Partial<TunnelClientOptions>) {
  const edge = await startLoopbackEdge();
  cleanups.push(() => edge.close());
  const tunnel = new TunnelClient({
    edgeUrl: edge.url,
    coreId: 'core-t',
    keySet: await generateCoreKeySet(),
    credits: 2,
    heartbeatMs: 60_000,
    log: silentLogger(),
    onDeliver: () => {},
    ...extra,
  });
  tunnel.start();
  cleanups.push(() => tunnel.dispose());
  const hello = await edge.next((f): f is Extract<CoreFrame, { type: 'hello' }> => f.type === 'hello');
  await expect.poll(() => tunnel.state).toBe('ready');
  return { edge, tunnel, hello };
}

const isResult = (id: string) => (f: CoreFrame): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === id;

describe('TunnelClient and history requests (loopback stand-in for the edge)', () => {
  it('hands history frames to onHistory, and says in hello that it serves history and its model', async () => {
    const asked: string[] = [];
    const { edge, hello } = await connect({ onHistory: (frame) => asked.push(frame.request_id), model: { id: 'tiny', description: 'a tiny model' } });
    expect(hello).toMatchObject({ serves_history: true, model: { id: 'tiny', description: 'a tiny model' } });
    edge.send({ type: 'history', request_id: 'h1', user: 'ada', query: { kind: 'conversations', limit: 5 } });
    await expect.poll(() => asked).toEqual(['h1']);
  });

  it('without onHistory: hello claims nothing, and a history request still gets an answer (ok: false)', async () => {
    const { edge, hello } = await connect({});
    expect(hello).not.toHaveProperty('serves_history');
    expect(hello).not.toHaveProperty('model');
    edge.send({ type: 'history', request_id: 'h2', user: 'ada', query: { kind: 'conversations', limit: 5 } });
    expect(await edge.next(isResult('h2'))).toMatchObject({ ok: false, error: 'this core does not serve history' });
  });
});
