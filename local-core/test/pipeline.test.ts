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
function setup(tunnelUp = () => true) {
  const sent: CoreFrameBody[] = [];
  const engine = new EchoEngine();
  const reply = vi.spyOn(engine, 'reply');
  const send = (frame: CoreFrameBody) => {
    if (!tunnelUp()) return false;
    sent.push(frame);
    return true;
  };
  return { sent, reply, pipeline: new Pipeline({ keySet: keys, engine, log: silentLogger(), send }) };
}

describe('Pipeline', () => {
  it('replies under the derived idempotency key, then acks', async () => {
    const { sent, pipeline } = setup();
    pipeline.handle(await delivery(message(1, 'what time is it')));
    await expect.poll(() => sent.length).toBe(2);
    expect(sent).toEqual([
      { type: 'reply', key: replyKeyFor('telegram:9:1'), conversation_id: 'telegram:9', in_reply_to: 'telegram:9:1', text: 'what time is it' },
      { type: 'ack', message_id: 'telegram:9:1' },
    ]);
  });

  it('answers a redelivery from memory instead of generating again', async () => {
    const { sent, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(2)));
    await expect.poll(() => sent.length).toBe(2);
    pipeline.handle(await delivery(message(2), 2));
    await expect.poll(() => sent.length).toBe(4);
    expect(sent.slice(2)).toEqual(sent.slice(0, 2));
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('joins a delivery that arrives while the same message is still being generated', async () => {
    const { sent, reply, pipeline } = setup();
    const d = await delivery(message(3));
    pipeline.handle(d);
    pipeline.handle({ ...d, attempt: 2 });
    await expect.poll(() => sent.length).toBe(4);
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
    await expect.poll(() => sent.length).toBe(2);
    expect(sent[1]).toEqual({ type: 'ack', message_id: 'telegram:9:4' });
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('acks without replying when a delivery cannot be opened with this key', async () => {
    const { sent, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(5), 1, await generateCoreKeySet()));
    await expect.poll(() => sent.length).toBe(1);
    expect(sent).toEqual([{ type: 'ack', message_id: 'telegram:9:5' }]);
    expect(reply).not.toHaveBeenCalled();
  });
});
