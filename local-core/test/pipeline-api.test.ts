import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type CoreKeySet, type DeliverFrame, type Message } from '@hearth/shared';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EchoEngine } from '../src/inference/engine.js';
import { loadMemoryConfig } from '../src/memory/config.js';
import { openDatabase } from '../src/memory/database.js';
import type { Memory } from '../src/memory/memory.js';
import { openMemory } from '../src/memory/open-memory.js';
import { Pipeline } from '../src/pipeline.js';
import { loadRecallConfig } from '../src/recall/config.js';
import { createEmbedder } from '../src/recall/create-embedder.js';
import { Recall } from '../src/recall/recall.js';
import { silentLogger } from './support.js';

let keys: CoreKeySet;
beforeAll(async () => {
  keys = await generateCoreKeySet();
});

let memory: Memory;
beforeEach(async () => {
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
});
afterEach(() => memory.dispose());

/** A message of an API client, as the edge stamps it (ms included). */
const apiMessage = (conversation: string, n: number, text: string, timestampMs: number): Message => ({
  message_id: `api:ada:${conversation}:${n}`,
  platform: 'api',
  conversation: { id: `api:ada:${conversation}`, type: 'private' },
  sender: { id: 'api:ada' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: Math.floor(timestampMs / 1000),
  timestamp_ms: timestampMs,
});

const completion = (n: number, text: string, request: NonNullable<Message['completion']>): Message => ({
  ...apiMessage(`completion.${n}`, 1, text, Date.now()),
  completion: request,
});

async function delivery(m: Message, attempt = 1): Promise<DeliverFrame> {
  return { v: 1, type: 'deliver', message_id: m.message_id, conversation_id: m.conversation.id, attempt, sealed: await seal(JSON.stringify(m), publicKeySet(keys)) };
}

function setup(engine = new EchoEngine(), recall?: Recall) {
  const sent: CoreFrameBody[] = [];
  const reply = vi.spyOn(engine, 'reply');
  const pipeline = new Pipeline({ keySet: keys, engine, memory, recall, log: silentLogger(), send: (frame) => sent.push(frame) > 0 });
  const ackOf = async (messageId: string) => {
    await expect.poll(() => sent.some((f) => f.type === 'ack' && f.message_id === messageId)).toBe(true);
    const ack = sent.find((f) => f.type === 'ack' && f.message_id === messageId);
    if (ack?.type !== 'ack' || !ack.reply) throw new Error(`no reply acked for ${messageId}`);
    return ack.reply;
  };
  return { sent, reply, pipeline, ackOf };
}

describe('Pipeline for API clients: history timestamps', () => {
  it("stores the user turn at the edge's millisecond stamp and the reply after it, and acks with the reply's created_at", async () => {
    const { pipeline, ackOf } = setup();
    const before = Date.now();
    const stamped = before - 5_000;
    await pipeline.handle(await delivery(apiMessage('phone', 1, 'hello', stamped)));
    const reply = await ackOf('api:ada:phone:1');

    const { items } = memory.apiHistory.messages('ada', 'phone', null, 10);
    expect(items.map((item) => [item.role, item.created_at])).toEqual([
      ['user', stamped],
      ['assistant', reply.created_at],
    ]);
    expect(reply.created_at).toBeGreaterThanOrEqual(before);
    expect(reply.created_at).toBeLessThanOrEqual(Date.now());
  });

  it("puts the reply after its question even when the edge's clock is ahead of this core's", async () => {
    const { pipeline, ackOf } = setup();
    const ahead = Date.now() + 60_000;
    await pipeline.handle(await delivery(apiMessage('phone', 2, 'from the future', ahead)));
    expect((await ackOf('api:ada:phone:2')).created_at).toBe(ahead + 1);
    expect(memory.apiHistory.messages('ada', 'phone', null, 10).items.map((item) => item.created_at)).toEqual([ahead, ahead + 1]);
  });

  it('uses the seconds of a platform without milliseconds', async () => {
    const { pipeline } = setup();
    const { timestamp_ms: _ms, ...seconds } = apiMessage('tablet', 1, 'hi', 1_700_000_000_123);
    await pipeline.handle(await delivery(seconds));
    expect(memory.apiHistory.messages('ada', 'tablet', null, 10).items[0]?.created_at).toBe(1_700_000_000_000);
  });

  it('keeps the device a user turn was sent from, so every device shows where it came from', async () => {
    const { pipeline, ackOf } = setup();
    const sent = apiMessage('laptop', 1, 'from the tablet', Date.now());
    await pipeline.handle(await delivery({ ...sent, sender: { ...sent.sender, device: 'tablet' } }));
    await ackOf(sent.message_id);
    const { items } = memory.apiHistory.since('ada', null, 10);
    expect(items.map((item) => [item.role, item.device])).toEqual([
      ['user', 'tablet'],
      ['assistant', undefined],
    ]);
    expect(Object.keys(items[1] ?? {})).not.toContain('device');
  });

  it('acks a redelivery after a restart with the created_at stored with the answer, not a new one', async () => {
    const first = setup();
    await first.pipeline.handle(await delivery(apiMessage('phone', 3, 'again', Date.now() - 1_000)));
    const original = await first.ackOf('api:ada:phone:3');
    // A new created_at would differ from the stored one once the clock moved.
    await expect.poll(() => Date.now()).toBeGreaterThan(original.created_at!);
    const restarted = setup();
    await restarted.pipeline.handle(await delivery(apiMessage('phone', 3, 'again', Date.now() - 1_000), 2));
    expect(await restarted.ackOf('api:ada:phone:3')).toEqual(original);
    expect(restarted.reply).not.toHaveBeenCalled();
  });
});

describe('Pipeline metrics', () => {
  it('counts the tokens the engine says it generated, not a re-tokenized guess', async () => {
    const generated: number[] = [];
    const engine = new EchoEngine();
    const pipeline = new Pipeline({
      keySet: keys,
      engine,
      memory,
      log: silentLogger(),
      send: () => true,
      metrics: { delivered: () => {}, acked: () => {}, generated: (tokens) => generated.push(tokens) },
    });
    vi.spyOn(engine, 'countTokens').mockReturnValue(999);
    vi.spyOn(engine, 'reply').mockImplementation(async (_message, options) => {
      options?.onTokens?.(2);
      options?.onTokens?.(3);
      return 'five tokens worth of text';
    });
    await pipeline.handle(await delivery(apiMessage('phone', 7, 'count me', Date.now())));
    expect(generated).toEqual([5]);
  });
});

describe('Pipeline for OpenAI-style completions', () => {
  it('gives the engine the request as the whole conversation, ephemeral, with its settings', async () => {
    const { pipeline, reply, ackOf, sent } = setup();
    // Memory holds a conversation under a similar id; a completion must not see it.
    memory.remember({
      generation: 0,
      turns: [{ messageId: 'x', conversationId: 'api:ada:completion.1', role: 'user', senderId: 'api:ada', text: 'secret', createdAt: 1, inReplyTo: null }],
    });
    const request = {
      history: [
        { role: 'system' as const, text: 'Be terse.' },
        { role: 'user' as const, text: 'hi' },
        { role: 'assistant' as const, text: 'hello' },
        { role: 'system' as const, text: 'Use English.' },
      ],
      max_tokens: 2,
      temperature: 0.7,
      top_p: 0.9,
    };
    await pipeline.handle(await delivery(completion(1, 'one two three four', request)));

    expect(reply).toHaveBeenCalledTimes(1);
    expect(reply.mock.calls[0]?.[1]).toMatchObject({
      ephemeral: true,
      history: { generation: 0, turns: [{ role: 'user', text: 'hi' }, { role: 'assistant', text: 'hello' }] },
      systemPrompt: 'Be terse.\n\nUse English.',
      maxTokens: 2,
      temperature: 0.7,
      topP: 0.9,
      context: [],
    });
    // Streamed, then acked with the reply and what it cost (the echo engine's tokens are words:
    // 'hi', 'hello' and the four of the question read, two written).
    expect(sent.filter((f) => f.type === 'partial')).toEqual([{ type: 'partial', message_id: 'api:ada:completion.1:1', seq: 0, text: 'one two' }]);
    expect(await ackOf('api:ada:completion.1:1')).toMatchObject({ text: 'one two', usage: { prompt_tokens: 6, completion_tokens: 2 } });
  });

  it('keeps nothing of it in history, only the answer record that answers a redelivery', async () => {
    const { pipeline, reply, ackOf } = setup();
    const message = completion(2, 'remember nothing', { history: [] });
    await pipeline.handle(await delivery(message));
    const first = await ackOf(message.message_id);

    expect((await memory.recall(message.conversation.id)).turns).toEqual([]);
    expect(memory.apiHistory.since('ada', null, 10).items).toEqual([]);
    expect(memory.answerFor(message.message_id)).toMatchObject({ replyText: 'remember nothing', createdAt: first.created_at });

    // Answered again from its record: the same reply, without a usage nobody measured this time.
    const restarted = setup();
    await restarted.pipeline.handle(await delivery(message, 2));
    const { usage, ...recorded } = first;
    expect(usage).toEqual({ prompt_tokens: 2, completion_tokens: 2 });
    expect(await restarted.ackOf(message.message_id)).toEqual(recorded);
    expect(reply).toHaveBeenCalledTimes(1);
    expect(restarted.reply).not.toHaveBeenCalled();
  });

  it("acks a completion answered with calls of the client's functions with its tool_calls, and after a restart acks the same calls from its record", async () => {
    const call = { id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' };
    // The model's side of it: a call instead of text, as the llama engine reports one.
    const calling = new EchoEngine();
    const calls = vi.spyOn(calling, 'reply').mockImplementation(async (_message, options) => {
      options?.onStop?.({ reason: 'tool_calls', toolCalls: [call] });
      return '';
    });
    const message = completion(9, 'weather?', { history: [], tools: [{ name: 'get_weather' }], tool_choice: 'required' });
    const { pipeline, ackOf } = setup(calling);
    await pipeline.handle(await delivery(message));
    const first = await ackOf(message.message_id);
    expect(first).toMatchObject({ text: '', tool_calls: [call], finish_reason: 'tool_calls' });
    expect(calls.mock.calls[0]?.[1]).toMatchObject({ clientTools: { tools: [{ name: 'get_weather' }], choice: 'required', parallel: true } });

    // Not generated again: a model may not make the same calls twice, and the client got these.
    const restarted = setup(calling);
    await restarted.pipeline.handle(await delivery(message, 2));
    const { usage: _usage, ...recorded } = first;
    expect(await restarted.ackOf(message.message_id)).toEqual(recorded);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it('keeps a completion cut by max_tokens as length after a restart', async () => {
    const cut = new EchoEngine();
    const replies = vi.spyOn(cut, 'reply').mockImplementation(async (_message, options) => {
      options?.onStop?.({ reason: 'length' });
      return 'once upon a';
    });
    const message = completion(10, 'a story', { history: [], max_tokens: 3 });
    await setup(cut).pipeline.handle(await delivery(message));
    const restarted = setup(cut);
    await restarted.pipeline.handle(await delivery(message, 2));
    expect(await restarted.ackOf(message.message_id)).toMatchObject({ text: 'once upon a', finish_reason: 'length' });
    expect(replies).toHaveBeenCalledTimes(1);
  });

  it('sends a text that looks like a command to the model, and without a system turn sets no system prompt', async () => {
    const { pipeline, reply, ackOf } = setup();
    await pipeline.handle(await delivery(completion(3, '/reset', { history: [] })));
    expect((await ackOf('api:ada:completion.3:1')).text).toBe('/reset');
    expect(reply).toHaveBeenCalledTimes(1);
    expect(reply.mock.calls[0]?.[1]).not.toHaveProperty('systemPrompt');
    expect(reply.mock.calls[0]?.[1]).not.toHaveProperty('maxTokens');
  });

  it('neither asks recall nor stores the completion for it', async () => {
    const recall = new Recall(openDatabase(':memory:'), await createEmbedder(loadRecallConfig({})), true);
    try {
      const contextFor = vi.spyOn(recall, 'contextFor');
      const remember = vi.spyOn(recall, 'remember');
      const { pipeline, ackOf } = setup(new EchoEngine(), recall);
      await pipeline.handle(await delivery(completion(4, 'My dentist appointment is on Tuesday.', { history: [] })));
      await ackOf('api:ada:completion.4:1');
      expect(contextFor).not.toHaveBeenCalled();
      expect(remember).not.toHaveBeenCalled();
      // The same pipeline still uses recall for an ordinary message: the spies can see it.
      await pipeline.handle(await delivery(apiMessage('phone', 9, 'When is my appointment?', Date.now())));
      await ackOf('api:ada:phone:9');
      expect(contextFor).toHaveBeenCalledTimes(1);
      expect(remember).toHaveBeenCalledTimes(1);
    } finally {
      await recall.dispose();
    }
  });
});
