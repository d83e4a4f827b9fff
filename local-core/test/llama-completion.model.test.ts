import { basename } from 'node:path';
import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplyOptions } from '../src/inference/engine.js';
import { LlamaEngine } from '../src/inference/llama-engine.js';
import { loadMemoryConfig } from '../src/memory/config.js';
import { openMemory } from '../src/memory/open-memory.js';
import { Pipeline } from '../src/pipeline.js';
import { TEST_MODEL, silentLogger } from './support.js';

/** HEARTH_MAX_TOKENS of this engine: what a client's max_tokens can never exceed. */
const CORE_MAX_TOKENS = 40;

let engine: LlamaEngine;
beforeAll(async () => {
  // One sequence: a completion that kept its sequence would leave none for anything after it.
  engine = await LlamaEngine.create(
    { modelPath: TEST_MODEL, modelsDirs: [], threads: 1, sequences: 1, contextSize: 512, maxTokens: CORE_MAX_TOKENS, systemPrompt: 'You are a storyteller.' },
    silentLogger(),
  );
});
afterAll(() => engine?.dispose());

const say = (conversation: string, n: number, text: string): Message => ({
  message_id: `${conversation}:${n}`,
  platform: 'api',
  conversation: { id: conversation, type: 'private' },
  sender: { id: 'api:ada' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: n,
});

/** A completion as the pipeline hands it over: the request's turns, ephemeral. */
const complete = (n: number, text: string, options: ReplyOptions = {}) =>
  generate(n, text, options).then((result) => result.text);

/** A completion's text, and how many tokens the model generated for it (counted as they came). */
async function generate(n: number, text: string, options: ReplyOptions = {}): Promise<{ text: string; tokens: number }> {
  let tokens = 0;
  const reply = await engine.reply(say(`api:ada:completion.${n}`, 1, text), {
    ephemeral: true,
    history: { generation: 0, turns: [{ role: 'user', text: 'Once upon a time' }, { role: 'assistant', text: 'there was a girl named Lily.' }] },
    onTokens: (count) => {
      tokens += count;
    },
    ...options,
  });
  return { text: reply, tokens };
}

describe('LlamaEngine completions (real GGUF)', () => {
  it("stops at the request's max_tokens, and at the core's limit when the request asks for more", async () => {
    const short = await generate(1, 'Tell me about her dog', { maxTokens: 3 });
    const capped = await generate(2, 'Tell me about her dog', { maxTokens: 5_000 });
    expect(short.text.length).toBeGreaterThan(0);
    expect(short.tokens).toBe(3);
    // Greedy decoding of the same prompt: the limit is what made the first one short.
    expect(capped.text.startsWith(short.text)).toBe(true);
    expect(capped.tokens).toBeGreaterThan(3);
    expect(capped.tokens).toBeLessThanOrEqual(CORE_MAX_TOKENS);
  });

  it('reports the prompt tokens it read: the whole prompt every time, more for a longer one', async () => {
    const read = async (n: number, text: string) => {
      let count: number | undefined;
      await generate(n, text, { maxTokens: 2, onPromptTokens: (c) => (count = c) });
      return count ?? -1;
    };
    const question = 'Tell me about her dog';
    const first = await read(20, question);
    // The system prompt, the history and the chat template come with the question.
    expect(first).toBeGreaterThan(engine.countTokens(`You are a storyteller. Once upon a time there was a girl named Lily. ${question}`));
    // The sequence was given back cleared: the same prompt is read whole again, not from a cache.
    expect(await read(21, question)).toBe(first);
    expect(await read(22, `${question}, her cat, her house and the big tree in the garden`)).toBeGreaterThan(first);
  });

  it('gives the sequence back after each completion: several in a row on one sequence, then a conversation', async () => {
    for (let n = 10; n < 14; n++) {
      expect(await complete(n, `Story number ${n}`, { maxTokens: 8, temperature: 0.8, topP: 0.9, systemPrompt: 'You tell short stories.' })).not.toBe('');
      expect(engine.contextUsage(`api:ada:completion.${n}`)).toBeUndefined();
    }
    // A resident conversation gets the one sequence, and only its own tokens are in it.
    expect(await engine.reply(say('api:ada:phone', 1, 'Tom had a red ball'))).not.toBe('');
    const usage = engine.contextUsage('api:ada:phone');
    expect(usage?.used).toBeGreaterThan(0);
    expect(usage?.used).toBeLessThan(100);
    // A completion now takes the idle conversation's sequence, and still gives it back.
    expect(await complete(20, 'And then?', { maxTokens: 8 })).not.toBe('');
    expect(await engine.reply(say('api:ada:phone', 2, 'What did Tom do?'))).not.toBe('');
  });

  it('is named after its file for API clients', () => {
    expect(engine.modelId).toBe(basename(TEST_MODEL, '.gguf'));
  });

  it('answers completions through the pipeline without a trace in history, then a conversation that is kept', async () => {
    const keySet = await generateCoreKeySet();
    const memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
    try {
      const sent: CoreFrameBody[] = [];
      const pipeline = new Pipeline({ keySet, engine, memory, log: silentLogger(), send: (frame) => sent.push(frame) > 0 });
      const deliver = async (message: Message) =>
        pipeline.handle({
          v: 1,
          type: 'deliver',
          message_id: message.message_id,
          conversation_id: message.conversation.id,
          attempt: 1,
          sealed: await seal(JSON.stringify(message), publicKeySet(keySet)),
        });
      for (let n = 30; n < 33; n++) {
        await deliver({ ...say(`api:ada:completion.${n}`, 1, 'Once upon a time'), completion: { history: [{ role: 'system', text: 'Tell stories.' }], max_tokens: 4 } });
      }
      await deliver(say('api:ada:tablet', 1, 'Lily had a cat'));
      const acks = sent.flatMap((frame) => (frame.type === 'ack' && frame.reply ? [frame.reply] : []));
      expect(acks).toHaveLength(4);
      for (const reply of acks) expect(reply.text.length).toBeGreaterThan(0);
      expect(memory.apiHistory.since('ada', null, 50).items.map((item) => item.conversation_id)).toEqual(['tablet', 'tablet']);
      for (let n = 30; n < 33; n++) expect((await memory.recall(`api:ada:completion.${n}`)).turns).toEqual([]);
    } finally {
      await memory.dispose();
    }
  });
});
