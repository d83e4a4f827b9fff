import { join } from 'node:path';
import { generateCoreKeySet, type CoreKeySet, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReplyOptions } from '../../src/inference/engine.js';
import { LlamaEngine } from '../../src/inference/llama-engine.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import { LongTermMemory } from '../../src/memory/long-term.js';
import type { Memory } from '../../src/memory/memory.js';
import { MEMORY_PREFIX } from '../../src/memory/memory-recall.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';
import { TEST_MODEL, silentLogger, tempDir } from '../support.js';

/**
 * The real model (stories260K, one thread) behind the real pipeline: a fact remembered in one
 * API conversation of a sender is in the context of that sender's next conversation, after a
 * restart of the memory, and never in another sender's. stories260K never calls a function, so
 * the turn's `remember` tool is called as node-llama-cpp would call it.
 */
let dir: string;
let cleanup: () => Promise<void>;
let engine: LlamaEngine;
let embedder: HashingEmbedder;
let keys: CoreKeySet;
let memory: Memory;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  engine = await LlamaEngine.create({ modelPath: TEST_MODEL, modelsDirs: [], threads: 1, sequences: 1, contextSize: 2048, maxTokens: 8, systemPrompt: 'You are a storyteller.' }, silentLogger());
  embedder = await HashingEmbedder.create({ threads: 1 });
  keys = await generateCoreKeySet();
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: join(dir, 'core.db') }, silentLogger());
});
afterAll(async () => {
  await memory?.dispose();
  await engine?.dispose();
  await embedder?.dispose();
  await cleanup?.();
});

let n = 0;
const say = (user: string, conversation: string, text: string): Message => ({
  message_id: `api:${user}:${conversation}:${++n}`,
  platform: 'api',
  conversation: { id: `api:${user}:${conversation}`, type: 'private' },
  sender: { id: `api:${user}` },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: n,
});

/** A core's pipeline on the real engine and memory items in `dir` (opened anew: a restart), with what each turn gave the engine. */
function start() {
  const longTerm = LongTermMemory.open({ config: { filePath: join(dir, 'MEMORY.md'), budgetTokens: 200 }, dbPath: join(dir, 'core.db'), embedder, watch: false });
  const turns: { message: Message; options: ReplyOptions; promptTokens: number }[] = [];
  const reply = engine.reply.bind(engine);
  const spy = vi.spyOn(engine, 'reply').mockImplementation((message, options = {}) => {
    const turn = { message, options, promptTokens: 0 };
    turns.push(turn);
    const onPromptTokens = (count: number) => {
      turn.promptTokens = count;
      options.onPromptTokens?.(count);
    };
    return reply(message, { ...options, onPromptTokens });
  });
  const pipeline = new Pipeline({ keySet: keys, engine, memory, longTerm, log: silentLogger(), send: () => true });
  const stop = () => {
    spy.mockRestore();
    longTerm.dispose();
  };
  return { pipeline, turns, longTerm, stop };
}

describe('memory items with the real model', () => {
  it("recalls a sender's fact in their new conversation, after a restart, and never in another sender's", async () => {
    const first = start();
    const told = say('ada', 'c1', 'My sister is called Lily and I am vegetarian.');
    expect((await first.pipeline.replyTo(told)).length).toBeGreaterThan(0);
    const remember = first.turns[0]?.options.tools?.find((tool) => tool.name === 'remember');
    expect(await remember?.call({ fact: 'Her sister is called Lily' })).toMatchObject({ remembered: 'Her sister is called Lily' });
    expect(await first.pipeline.replyTo(say('ada', 'c1', '/remember I am vegetarian'))).toMatch(/^Remembered/);
    expect(first.longTerm.items.list('api:ada')[0]).toMatchObject({ source: 'tool', messageId: told.message_id });
    first.stop();

    const second = start();
    await second.pipeline.replyTo(say('ada', 'c2', 'Tell me a story about my sister.'));
    await second.pipeline.replyTo(say('bo', 'c1', 'Tell me a story about my sister.'));
    const [ada, bo] = second.turns;
    expect(ada?.message.conversation.id).toBe('api:ada:c2');
    expect(ada?.options.context).toEqual([`${MEMORY_PREFIX}Her sister is called Lily`, `${MEMORY_PREFIX}I am vegetarian`]);
    expect(bo?.options.context).toEqual([]);
    expect(JSON.stringify(bo?.options)).not.toContain('Lily');
    // The model read them: Ada's first turn of a fresh conversation took more prompt tokens than Bo's same one.
    expect(ada?.promptTokens).toBeGreaterThan(bo?.promptTokens ?? Number.POSITIVE_INFINITY);
    second.stop();
  });
});
