import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type DeliverFrame, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaEngine } from '../src/inference/llama-engine.js';
import { LocalJobQueue } from '../src/jobs/local-queue.js';
import { loadMemoryConfig } from '../src/memory/config.js';
import type { Memory } from '../src/memory/memory.js';
import { openMemory } from '../src/memory/open-memory.js';
import { Pipeline } from '../src/pipeline.js';
import { TEST_MODEL, silentLogger } from './support.js';

let engine: LlamaEngine;
let memory: Memory;
beforeAll(async () => {
  // One sequence: a second conversation while the first generates is a real engine error.
  engine = await LlamaEngine.create(
    { modelPath: TEST_MODEL, modelsDirs: [], threads: 1, sequences: 1, contextSize: 256, maxTokens: 24, systemPrompt: 'You are a storyteller.' },
    silentLogger(),
  );
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: ':memory:' }, silentLogger());
});
afterAll(async () => {
  await memory?.dispose();
  await engine?.dispose();
});

const message = (chat: number): Message => ({
  message_id: `telegram:${chat}:1`,
  platform: 'telegram',
  conversation: { id: `telegram:${chat}`, type: 'private' },
  sender: { id: `telegram:${chat}` },
  content: { text: 'Once upon a time', attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1,
});

describe('a failed generation (real GGUF)', () => {
  it('is left unacked, and the job queue retries it with backoff until it succeeds', async () => {
    const keys = await generateCoreKeySet();
    const sent: CoreFrameBody[] = [];
    const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), send: (frame) => sent.push(frame) > 0 });
    const queue = new LocalJobQueue<DeliverFrame>({ attempts: 5, backoffMs: 200 });
    const retried: string[] = [];
    queue.on('retrying', (job, error) => retried.push(`${job.id}: ${error.message}`));
    // More at once than the engine has sequences: the second fails until the first is done.
    await queue.process(({ data }) => pipeline.handle(data), { concurrency: 2 });
    for (const chat of [1, 2]) {
      const m = message(chat);
      const sealed = await seal(JSON.stringify(m), publicKeySet(keys));
      await queue.add(m.message_id, { v: 1, type: 'deliver', message_id: m.message_id, conversation_id: m.conversation.id, attempt: 1, sealed });
    }
    await expect.poll(() => sent.filter((f) => f.type === 'ack').length, { timeout: 20_000 }).toBe(2);
    expect(retried.length).toBeGreaterThan(0);
    expect(retried[0]).toMatch(/all context sequences are busy/);
    for (const ack of sent.filter((f) => f.type === 'ack')) expect(ack.type === 'ack' && ack.reply?.text.trim()).toBeTruthy();
    await queue.dispose();
  });
});
