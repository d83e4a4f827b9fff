import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DeliverFrame, replyKeyFor } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { LocalJobQueue } from '../../src/jobs/local-queue.js';
import { engineLoader } from '../../src/learning/engine-loader.js';
import { LearningStore } from '../../src/learning/store.js';
import type { ExperimentsConfig, Variant } from '../../src/learning/variants.js';
import { openDatabase } from '../../src/memory/database.js';
import { TEST_MODEL, silentLogger, tempDir } from '../support.js';
import { chat, delivery, learningCore, type LearningCore } from './support.js';

const TINY = resolve(import.meta.dirname, '../../../../shared/models/llama-2-tiny-random.gguf');
const variant = (name: string, model: string): Variant => ({ name, model, lora: undefined, systemPrompt: undefined, temperature: undefined, topP: undefined, maxTokens: undefined });
const AB: ExperimentsConfig = {
  file: 'x',
  variants: [variant('a', TEST_MODEL), variant('b', TINY)],
  experiment: { name: 'e', weights: [{ variant: 'a', weight: 1 }] },
};

let dir: { dir: string; cleanup: () => Promise<void> };
let core: LearningCore | undefined;
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await core?.close();
  core = undefined;
  await dir.cleanup();
});

describe('hot-swapping the model under load (real GGUFs)', () => {
  it('promotes B (llama-2-tiny-random) over A (stories260K) with 20 deliveries in flight: each acked once with a reply, recording the variant that wrote it', async () => {
    const config = loadCoreConfig({ HEARTH_THREADS: '1', HEARTH_SEQUENCES: '4', HEARTH_CONTEXT_SIZE: '256', HEARTH_MAX_TOKENS: '12' });
    const c = await learningCore(dir.dir, { experiments: AB, load: engineLoader(config, silentLogger()), pollMs: 50 });
    core = c;
    expect(c.engine.sequences).toBe(4);
    const queue = new LocalJobQueue<DeliverFrame>({ attempts: 1, backoffMs: 100 });
    await queue.process(({ data }) => c.pipeline.handle(data), { concurrency: c.engine.sequences });

    const messages = Array.from({ length: 20 }, (_, i) => chat('telegram', `telegram:${i}`, `telegram:${i}:1`, `Once upon a time ${i}`));
    for (const m of messages) await queue.add(m.message_id, await delivery(m));
    // Promoted as the CLI does, from its own connection, while the 20 are queued or generating.
    await expect.poll(() => c.acks().length, { timeout: 30_000, interval: 5 }).toBeGreaterThanOrEqual(1);
    const db = openDatabase(join(dir.dir, 'core.db'));
    new LearningStore(db).promote('b');
    db.close();
    const inFlight = 20 - c.acks().length;
    await expect.poll(() => c.engine.promotion.variant, { timeout: 30_000, interval: 20 }).toBe('b');
    expect(inFlight).toBeGreaterThan(10);
    const later = Array.from({ length: 10 }, (_, i) => chat('telegram', `telegram:${i}`, `telegram:${i}:2`, `And then ${i}`));
    for (const m of later) await queue.add(m.message_id, await delivery(m));
    await expect.poll(() => c.acks().length, { timeout: 60_000, interval: 100 }).toBe(30);
    await queue.dispose({ timeoutMs: 1_000 });

    for (const m of [...messages, ...later]) {
      const acks = c.acks().filter((a) => a.message_id === m.message_id);
      expect(acks).toHaveLength(1);
      expect(acks[0]?.reply?.text.length).toBeGreaterThan(0);
      const record = c.store.reply(replyKeyFor(m.message_id));
      expect(record?.model).toBe(record?.variant === 'a' ? 'stories260K' : 'llama-2-tiny-random');
    }
    // In the order acked: A until B took over, then B only.
    const order = c.acks().map((a) => c.store.reply(replyKeyFor(a.message_id))?.variant ?? '?');
    expect(order.join('')).toMatch(/^a+b+$/);
    for (const m of later) expect(c.store.reply(replyKeyFor(m.message_id))?.variant).toBe('b');
    expect(c.engine.describe()).toContain('llama-2-tiny-random');
  });

  it('hands a variant’s LoRA adapter to node-llama-cpp (a file that is not an adapter fails the load, not silently ignored)', async () => {
    const config = loadCoreConfig({ HEARTH_THREADS: '1', HEARTH_SEQUENCES: '1', HEARTH_CONTEXT_SIZE: '256', HEARTH_MAX_TOKENS: '8' });
    const bogus = join(dir.dir, 'adapter.gguf');
    writeFileSync(bogus, 'not a GGUF LoRA adapter');
    const load = engineLoader(config, silentLogger());
    await expect(load({ ...variant('lora', TEST_MODEL), lora: { path: bogus, scale: 0.5 } }, 1)).rejects.toThrow(/lora|adapter/i);
  });
});
