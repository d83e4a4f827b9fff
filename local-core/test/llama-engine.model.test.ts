import type { Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelNotFoundError } from '../src/errors.js';
import { LlamaEngine, type LlamaEngineOptions } from '../src/inference/llama-engine.js';
import { TEST_MODEL, silentLogger } from './support.js';

const options: LlamaEngineOptions = {
  modelPath: TEST_MODEL,
  modelsDirs: [],
  threads: 1,
  sequences: 2,
  contextSize: 512,
  maxTokens: 24,
  systemPrompt: 'You are a storyteller.',
};

const say = (conversation: string, n: number, text: string): Message => ({
  message_id: `${conversation}:${n}`,
  platform: 'telegram',
  conversation: { id: conversation, type: 'private' },
  sender: { id: 'telegram:1' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: n,
});

let engine: LlamaEngine;
beforeAll(async () => {
  engine = await LlamaEngine.create(options, silentLogger());
});
afterAll(() => engine?.dispose());

describe('LlamaEngine (real GGUF)', () => {
  it('generates a non-empty reply from the model', async () => {
    const text = await engine.reply(say('telegram:1', 1, 'Once upon a time'));
    expect(text.trim().length).toBeGreaterThan(0);
  });

  it('runs conversations in parallel on separate sequences', async () => {
    const replies = await Promise.all([
      engine.reply(say('telegram:2', 1, 'Tell me about a cat')),
      engine.reply(say('telegram:3', 1, 'Tell me about a dog')),
    ]);
    for (const text of replies) expect(text.length).toBeGreaterThan(0);
  });

  it('gives the least recently used idle conversation up when sequences run out', async () => {
    // Two sequences; a fourth and fifth conversation evict the oldest idle ones and still answer.
    expect(await engine.reply(say('telegram:4', 1, 'Lily went to the park'))).not.toBe('');
    expect(await engine.reply(say('telegram:5', 1, 'Tom had a red ball'))).not.toBe('');
    expect(await engine.reply(say('telegram:4', 2, 'What did Lily see?'))).not.toBe('');
  });

  it('stops generating when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const text = await engine.reply(say('telegram:6', 1, 'A long story'), { signal: controller.signal }).catch(() => '');
    expect(text).toBe('');
  });

  it('fails with ModelNotFoundError, not a crash, for a missing model', async () => {
    await expect(LlamaEngine.create({ ...options, modelPath: '/nowhere/model.gguf' }, silentLogger())).rejects.toBeInstanceOf(
      ModelNotFoundError,
    );
  });

  it('streams the text as it generates; the pieces make the reply', async () => {
    const chunks: string[] = [];
    const text = await engine.reply(say('telegram:7', 1, 'Once upon a time there was a cat'), { onText: (chunk) => chunks.push(chunk) });
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('').trim()).toBe(text);
  });

  it('stops mid-generation when asked, and returns what it had written', async () => {
    const controller = new AbortController();
    const chunks: string[] = [];
    const text = await engine.reply(say('telegram:8', 1, 'Once upon a time'), {
      signal: controller.signal,
      onText: (chunk) => {
        chunks.push(chunk);
        if (chunks.length === 3) controller.abort();
      },
    });
    expect(text.length).toBeGreaterThan(0);
    expect(chunks.join('').trim()).toBe(text);
    // maxTokens is 24: it stopped well before.
    expect(chunks.length).toBeLessThan(10);
  });

  it('forgets a conversation on reset, and says what it runs', async () => {
    await engine.reply(say('telegram:9', 1, 'Hello'));
    expect(engine.contextUsage('telegram:9')?.used).toBeGreaterThan(0);
    await engine.reset('telegram:9');
    expect(engine.contextUsage('telegram:9')).toBeUndefined();
    expect(engine.describe()).toMatch(/^stories260K\.gguf on cpu, context \d+ tokens, 2 conversations at once$/);
  });
});

describe('LlamaEngine history budget (real GGUF)', () => {
  let small: LlamaEngine;
  beforeAll(async () => {
    small = await LlamaEngine.create({ ...options, contextSize: 256, sequences: 1 }, silentLogger());
  });
  afterAll(() => small?.dispose());

  it('trims a long conversation before it fills its context, and keeps answering', async () => {
    const usage: number[] = [];
    for (let turn = 0; turn < 30; turn++) {
      const text = await small.reply(say('telegram:20', turn, `Turn ${turn}: tell me about the little cat and the big dog in the park`));
      expect(text.length).toBeGreaterThan(0);
      const now = small.contextUsage('telegram:20');
      expect(now).toBeDefined();
      usage.push(now!.used);
      expect(now!.used).toBeLessThanOrEqual(now!.size);
    }
    // It grew, was cut back, and grew again: trimmed, not reset each turn.
    const drops = usage.filter((used, i) => i > 0 && used < usage[i - 1]!).length;
    expect(drops).toBeGreaterThan(0);
    expect(Math.max(...usage)).toBeGreaterThan(Math.min(...usage.slice(1)));
  });

  it('hands its only sequence from one conversation to the next, and back', async () => {
    // The context reclaims a disposed sequence asynchronously: handing it over must not depend on that.
    for (const conversation of ['telegram:21', 'telegram:22', 'telegram:21', 'telegram:23']) {
      expect(await small.reply(say(conversation, 1, 'Tom had a red ball'))).not.toBe('');
    }
    await small.reset('telegram:23');
    expect(await small.reply(say('telegram:24', 1, 'Lily had a hat'))).not.toBe('');
  });

  it('cuts a system prompt longer than an eighth of the context, and still answers', async () => {
    const verbose = await LlamaEngine.create({ ...options, contextSize: 256, sequences: 1, systemPrompt: 'Always be kind. '.repeat(300) }, silentLogger());
    try {
      expect(await verbose.reply(say('telegram:30', 1, 'Once upon a time'))).not.toBe('');
      expect(verbose.contextUsage('telegram:30')!.used).toBeLessThan(256);
    } finally {
      await verbose.dispose();
    }
  });

  it('disposes once however often it is asked, at once or after', async () => {
    const twice = await LlamaEngine.create({ ...options, contextSize: 256, sequences: 1 }, silentLogger());
    expect(await twice.reply(say('telegram:40', 1, 'Once upon a time'))).not.toBe('');
    await Promise.all([twice.dispose(), twice.dispose()]);
    await expect(twice.dispose()).resolves.toBeUndefined();
  });

  it('picks the number of sequences from free memory when not configured', async () => {
    const auto = await LlamaEngine.create({ ...options, sequences: undefined }, silentLogger());
    try {
      expect(auto.sequences).toBeGreaterThanOrEqual(1);
      expect(auto.sequences).toBeLessThanOrEqual(8);
    } finally {
      await auto.dispose();
    }
  });
});
