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
});
