import { type CoreFrame, publicKeySet, seal, type Message } from '@hearth/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { startEchoCore } from './echo-core.js';
import { type LoopbackEdge, startLoopbackEdge } from './loopback-edge.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A real core (echo engine, see echo-core.ts) dialled into `edge`. */
async function core(edge: LoopbackEdge) {
  const started = await startEchoCore(edge.url, 'core-a');
  cleanups.push(started.stop);
  return started;
}

const isType =
  <T extends CoreFrame['type']>(type: T) =>
  (frame: CoreFrame): frame is Extract<CoreFrame, { type: T }> =>
    frame.type === type;

describe('the core answers history requests over its tunnel (loopback stand-in for the edge)', () => {
  it('says in hello that it serves history, and which model it runs', async () => {
    const edge = await startLoopbackEdge();
    cleanups.push(() => edge.close());
    await core(edge);
    const hello = await edge.next(isType('hello'));
    expect(hello).toMatchObject({ core_id: 'core-a', serves_history: true, model: { id: 'echo', description: 'echo (diagnostic: repeats each message)' } });
  });

  it('answers messages, since and conversations from its disk, and a bad request with ok: false', async () => {
    const edge = await startLoopbackEdge();
    cleanups.push(() => edge.close());
    const { keySet } = await core(edge);
    await edge.next(isType('hello'));
    const message: Message = {
      message_id: 'api:ada:phone:1',
      platform: 'api',
      conversation: { id: 'api:ada:phone', type: 'private' },
      sender: { id: 'api:ada' },
      content: { text: 'hello there', attachments: [], entities: [] },
      reply_to: null,
      timestamp: 1_700_000_000,
      timestamp_ms: 1_700_000_000_250,
    };
    edge.send({ type: 'deliver', message_id: message.message_id, conversation_id: message.conversation.id, attempt: 1, sealed: await seal(JSON.stringify(message), publicKeySet(keySet)) });
    const ack = await edge.next(isType('ack'));
    const createdAt = ack.reply?.created_at;
    expect(createdAt).toBeGreaterThan(1_700_000_000_250);

    edge.send({ type: 'history', request_id: 'r1', user: 'ada', query: { kind: 'messages', conversation_id: 'phone', after: null, limit: 10 } });
    const page = await edge.next((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === 'r1');
    expect(page).toMatchObject({ ok: true, has_more: false });
    expect(page.items?.map((item) => [item.role, item.text, item.created_at])).toEqual([
      ['user', 'hello there', 1_700_000_000_250],
      ['assistant', 'hello there', createdAt],
    ]);

    edge.send({ type: 'history', request_id: 'r2', user: 'ada', query: { kind: 'since', after: page.items?.[0]?.cursor ?? null, limit: 10 } });
    const since = await edge.next((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === 'r2');
    expect(since.items?.map((item) => item.message_id)).toEqual(['reply:api:ada:phone:1']);

    edge.send({ type: 'history', request_id: 'r3', user: 'ada', query: { kind: 'conversations', limit: 10 } });
    const list = await edge.next((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === 'r3');
    expect(list).toMatchObject({ ok: true, conversations: [{ conversation_id: 'phone', title: 'hello there', turns: 2, updated_at: createdAt }] });

    // Valid as a frame, not as a user id: answered, not fatal.
    edge.send({ type: 'history', request_id: 'r4', user: 'ada:phone', query: { kind: 'conversations', limit: 10 } });
    const refused = await edge.next((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === 'r4');
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining('user id') });
    edge.send({ type: 'history', request_id: 'r5', user: 'ada', query: { kind: 'conversations', limit: 1 } });
    await edge.next((f): f is Extract<CoreFrame, { type: 'history_result' }> => f.type === 'history_result' && f.request_id === 'r5' && f.ok);
  });
});
