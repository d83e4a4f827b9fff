import { generateCoreKeySet, publicKeySet, replyKeyFor, seal, type CoreFrameBody, type CoreKeySet, type DeliverFrame, type Message } from '@hearth/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadMemoryConfig } from '../src/memory/config.js';
import type { Memory } from '../src/memory/memory.js';
import { openDatabase } from '../src/memory/database.js';
import { openMemory } from '../src/memory/open-memory.js';
import { loadRecallConfig } from '../src/recall/config.js';
import { createEmbedder } from '../src/recall/create-embedder.js';
import { Recall } from '../src/recall/recall.js';
import { EchoEngine } from '../src/inference/engine.js';
import { Pipeline, TIMED_OUT_NOTE } from '../src/pipeline.js';
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

let memory: Memory;
beforeEach(async () => {
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
});
afterEach(() => memory.dispose());

/** A pipeline on the real echo engine (spied on to count generations), memory on SQLite in memory, and a recording tunnel. */
function setup(tunnelUp = () => true, engine = new EchoEngine(), generationTimeoutMs?: number) {
  const sent: CoreFrameBody[] = [];
  const reply = vi.spyOn(engine, 'reply');
  const send = (frame: CoreFrameBody) => {
    if (!tunnelUp()) return false;
    sent.push(frame);
    return true;
  };
  const acks = () => sent.filter((f) => f.type === 'ack');
  const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), send, ...(generationTimeoutMs ? { generationTimeoutMs } : {}) });
  return { sent, acks, reply, engine, pipeline };
}

/** The text of the reply acked for a message, once it is acked. */
async function replyTo(acks: () => CoreFrameBody[], messageId: string): Promise<string> {
  await expect.poll(() => acks().some((f) => f.type === 'ack' && f.message_id === messageId)).toBe(true);
  const ack = acks().find((f) => f.type === 'ack' && f.message_id === messageId);
  return ack?.type === 'ack' ? (ack.reply?.text ?? '') : '';
}

describe('Pipeline', () => {
  it('streams the text, then acks with the whole reply under the idempotency key derived from the message', async () => {
    const { sent, pipeline } = setup();
    pipeline.handle(await delivery(message(1, 'what time is it')));
    await expect.poll(() => sent.length).toBe(2);
    expect(sent).toEqual([
      { type: 'partial', message_id: 'telegram:9:1', seq: 0, text: 'what time is it' },
      { type: 'ack', message_id: 'telegram:9:1', reply: { key: replyKeyFor('telegram:9:1'), text: 'what time is it', created_at: expect.any(Number) } },
    ]);
  });

  it('answers a redelivery from memory instead of generating again', async () => {
    const { acks, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(2)));
    await expect.poll(() => acks().length).toBe(1);
    pipeline.handle(await delivery(message(2), 2));
    await expect.poll(() => acks().length).toBe(2);
    expect(acks()[1]).toEqual(acks()[0]);
    expect(reply).toHaveBeenCalledTimes(1);
  });

  it('joins a delivery that arrives while the same message is still being generated', async () => {
    const { acks, reply, pipeline } = setup();
    const d = await delivery(message(3));
    pipeline.handle(d);
    pipeline.handle({ ...d, attempt: 2 });
    await expect.poll(() => acks().length).toBe(2);
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

  it('answers its commands itself, without the model', async () => {
    const { acks, reply, engine, pipeline } = setup();
    const reset = vi.spyOn(engine, 'reset');
    const commands = { 10: '/start', 11: '/help', 12: '/model', 13: '/reset@hearth_bot', 14: '/frobnicate now' };
    for (const [n, text] of Object.entries(commands)) pipeline.handle(await delivery({ ...message(Number(n), text), sender: { id: 'telegram:9', name: 'Ada' } }));
    expect(await replyTo(acks, 'telegram:9:10')).toMatch(/^Hi Ada! I am Hearth/);
    expect(await replyTo(acks, 'telegram:9:11')).toContain('/reset – forget our conversation');
    expect(await replyTo(acks, 'telegram:9:12')).toBe('Model: echo (diagnostic: repeats each message)');
    expect(await replyTo(acks, 'telegram:9:13')).toMatch(/forgotten our conversation/);
    expect(reset).toHaveBeenCalledWith('telegram:9');
    expect(await replyTo(acks, 'telegram:9:14')).toBe('I do not know /frobnicate. Send /help for what I can do.');
    expect(reply).not.toHaveBeenCalled();
  });

  it('stops a generation the sender stopped, sends what there is, and answers the /stop', async () => {
    const { acks, pipeline } = setup(() => true, new EchoEngine(10_000));
    pipeline.handle(await delivery(message(20, 'a long story')));
    await expect.poll(() => pipeline.inFlight).toBe(1);
    pipeline.cancel('telegram:9:20');
    expect(await replyTo(acks, 'telegram:9:20')).toBe('(stopped)');
    pipeline.handle(await delivery(message(21, '/stop')));
    expect(await replyTo(acks, 'telegram:9:21')).toBe('Stopped.');
    pipeline.handle(await delivery(message(22, '/stop')));
    expect(await replyTo(acks, 'telegram:9:22')).toBe('Nothing to stop: I was not writing anything.');
  });

  it('cuts a generation off at the time limit and says so', async () => {
    const { acks, pipeline } = setup(() => true, new EchoEngine(10_000), 100);
    pipeline.handle(await delivery(message(30)));
    expect(await replyTo(acks, 'telegram:9:30')).toBe(`(no reply in time)${TIMED_OUT_NOTE}`);
  });

  it('does not ack what it abandons when the core stops (the Relay redelivers it)', async () => {
    const { sent, pipeline } = setup(() => true, new EchoEngine(10_000));
    pipeline.handle(await delivery(message(40)));
    await expect.poll(() => pipeline.inFlight).toBe(1);
    await pipeline.dispose();
    expect(sent.filter((f) => f.type === 'ack')).toEqual([]);
  });

  it('answers a redelivery after a restart from disk, without generating again', async () => {
    const first = setup();
    first.pipeline.handle(await delivery(message(50, 'remember me')));
    expect(await replyTo(first.acks, 'telegram:9:50')).toBe('remember me');
    // A new pipeline on the same memory: the in-process answers are gone, the disk is not.
    const restarted = setup(() => true, new EchoEngine());
    restarted.pipeline.handle(await delivery(message(50, 'remember me'), 2));
    expect(await replyTo(restarted.acks, 'telegram:9:50')).toBe('remember me');
    expect(restarted.reply).not.toHaveBeenCalled();
  });

  it('gives the engine the conversation so far, and nothing of it after /reset', async () => {
    const { acks, reply, pipeline } = setup();
    pipeline.handle(await delivery(message(60, 'my name is Ada')));
    await replyTo(acks, 'telegram:9:60');
    pipeline.handle(await delivery(message(61, 'what is my name?')));
    await replyTo(acks, 'telegram:9:61');
    const history = reply.mock.calls[1]?.[1]?.history;
    expect(history?.turns).toEqual([
      { role: 'user', text: 'my name is Ada' },
      { role: 'assistant', text: 'my name is Ada' },
    ]);
    pipeline.handle(await delivery(message(62, '/reset')));
    await replyTo(acks, 'telegram:9:62');
    pipeline.handle(await delivery(message(63, 'hello again')));
    await replyTo(acks, 'telegram:9:63');
    const after = reply.mock.calls[2]?.[1]?.history;
    expect(after?.turns).toEqual([]);
    expect(after?.generation).toBeGreaterThan(history?.generation ?? 0);
  });

  it('gives the model redacted text when configured to, and the text as written when not', async () => {
    const card = 'my card is 4111 1111 1111 1111';
    const redacting = new Pipeline({
      keySet: keys,
      engine: new EchoEngine(),
      memory,
      log: silentLogger(),
      redaction: { kinds: ['card'], redactModelInput: true },
      send: () => true,
    });
    const seen = vi.spyOn(EchoEngine.prototype, 'reply');
    await redacting.handle(await delivery(message(70, card)));
    expect(seen.mock.calls.at(-1)?.[0].content.text).toBe('my card is [REDACTED:card]');
    const { acks, pipeline } = setup();
    pipeline.handle(await delivery(message(71, card)));
    expect(await replyTo(acks, 'telegram:9:71')).toBe(card);
    seen.mockRestore();
  });

  it('adds what recall finds to the prompt', async () => {
    const recall = new Recall(openDatabase(':memory:'), await createEmbedder(loadRecallConfig({})), true);
    try {
      const engine = new EchoEngine();
      const reply = vi.spyOn(engine, 'reply');
      const sent: CoreFrameBody[] = [];
      const pipeline = new Pipeline({ keySet: keys, engine, memory, recall, log: silentLogger(), send: (f) => sent.push(f) > 0 });
      // Said long ago: remembered by recall, no longer among the turns the model reads.
      await recall.remember('telegram:9', 'My dentist appointment is on Tuesday at 3 pm with Dr Lee.', 'message', 'telegram:9:1');
      await pipeline.handle(await delivery(message(81, 'When is my dentist appointment?')));
      expect(reply.mock.calls[0]?.[1]?.context?.join(' ')).toContain('Tuesday');
    } finally {
      await recall.dispose();
    }
  });

  it('does not recall a message the history already gives the model', async () => {
    const recall = new Recall(openDatabase(':memory:'), await createEmbedder(loadRecallConfig({})), true);
    try {
      const engine = new EchoEngine();
      const reply = vi.spyOn(engine, 'reply');
      const pipeline = new Pipeline({ keySet: keys, engine, memory, recall, log: silentLogger(), send: () => true });
      await pipeline.handle(await delivery(message(82, 'My dentist appointment is on Tuesday at 3 pm with Dr Lee.')));
      await expect.poll(async () => (await recall.search('telegram:9', 'dentist appointment')).length).toBeGreaterThan(0);
      await pipeline.handle(await delivery(message(83, 'When is my dentist appointment?')));
      const second = reply.mock.calls[1]?.[1];
      expect(second?.history?.turns.map((turn) => turn.text)).toContain('My dentist appointment is on Tuesday at 3 pm with Dr Lee.');
      expect(second?.context ?? []).toEqual([]);
    } finally {
      await recall.dispose();
    }
  });

  it('answers a message that came another way (MQTT) once per id, streaming nothing to the edge', async () => {
    const { sent, reply, pipeline } = setup();
    const local = { ...message(95, 'lights on'), message_id: 'mqtt:kitchen:1', platform: 'mqtt' as const, conversation: { id: 'mqtt:kitchen', type: 'private' as const } };
    expect(await pipeline.replyTo(local)).toBe('lights on');
    expect(await pipeline.replyTo(local)).toBe('lights on');
    expect(reply).toHaveBeenCalledTimes(1);
    expect(sent).toEqual([]);
  });
});
