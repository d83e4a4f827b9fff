import { generateCoreKeySet, publicKeySet, replyKeyFor, seal, type CoreFrameBody, type CoreKeySet, type DeliverFrame, type Message } from '@hearth/shared';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { EchoEngine } from '../src/inference/engine.js';
import { Pipeline } from '../src/pipeline.js';
import { silentLogger } from './support.js';

let keys: CoreKeySet;
beforeAll(async () => {
  keys = await generateCoreKeySet();
});

const message = (n: number, text = `hello ${n}`): Message => ({
  message_id: `telegram:9:${n}`,
  platform: 'telegram',
  conversation: { id: 'telegram:9', type: 'private' },
  sender: { id: 'telegram:9' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1,
});

async function delivery(m: Message, attempt = 1, sealedTo = keys): Promise<DeliverFrame> {
  const sealed = await seal(JSON.stringify(m), publicKeySet(sealedTo));
  return { v: 1, type: 'deliver', message_id: m.message_id, conversation_id: m.conversation.id, attempt, sealed };
}

/** A pipeline on the real echo engine (spied on to count generations) and a recording tunnel. */
function setup(tunnelUp = () => true, engine = new EchoEngine()) {
  const sent: CoreFrameBody[] = [];
  const reply = vi.spyOn(engine, 'reply');
  const send = (frame: CoreFrameBody) => {
    if (!tunnelUp()) return false;
    sent.push(frame);
    return true;
  };
  return { sent, reply, pipeline: new Pipeline({ keySet: keys, engine, log: silentLogger(), send }) };
}

describe('Pipeline', () => {
  it('acks with the reply, under the idempotency key derived from the message', async () => {
    const { sent, pipeline } = setup();
    pipeline.handle(await delivery(message(1, 'what time is it')));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent).toEqual([
      { type: 'ack', message_id: 'telegram:9:1', reply: { key: replyKeyFor('telegram:9:1'), text: 'what time is it' } },
    ]);
  });

  it('answers a redelivery from memory instead of generating again', async () => {
    const { sent, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(2)));
    await expect.poll(() => sent.length).toBe(1);
    pipeline.handle(await delivery(message(2), 2));
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[1]).toEqual(sent[0]);
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('joins a delivery that arrives while the same message is still being generated', async () => {
    const { sent, reply, pipeline } = setup();
    const d = await delivery(message(3));
    pipeline.handle(d);
    pipeline.handle({ ...d, attempt: 2 });
    await expect.poll(() => sent.length).toBe(2);
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('sends nothing while the tunnel is down, and the reply once the Relay redelivers', async () => {
    let up = false;
    const { sent, reply, pipeline } = setup(() => up);
    pipeline.handle(await delivery(message(4)));
    await expect.poll(() => pipeline.inFlight).toBe(0);
    expect(sent).toEqual([]);
    up = true;
    pipeline.handle(await delivery(message(4), 2));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]).toMatchObject({ type: 'ack', message_id: 'telegram:9:4', reply: { text: 'hello 4' } });
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('reports progress while generating, so the edge does not give the delivery away', async () => {
    const { sent, pipeline } = setup(() => true, new EchoEngine(260));
    pipeline.setAckTimeout(300); // progress every 100 ms
    pipeline.handle(await delivery(message(6)));
    await expect.poll(() => sent.some((f) => f.type === 'ack')).toBe(true);
    const progress = sent.filter((f) => f.type === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toEqual({ type: 'progress', message_id: 'telegram:9:6' });
    expect(sent.at(-1)?.type).toBe('ack');
  });

  it('acks without replying when a delivery cannot be opened with this key', async () => {
    const { sent, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(5), 1, await generateCoreKeySet()));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent).toEqual([{ type: 'ack', message_id: 'telegram:9:5' }]);
    expect(reply).not.toHaveBeenCalled();
  });
});
