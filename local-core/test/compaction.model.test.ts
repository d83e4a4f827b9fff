import { join } from 'node:path';
import { generateCoreKeySet, type CoreKeySet, type Message } from '@hearth/shared';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LlamaEngine, type LlamaEngineOptions } from '../src/inference/llama-engine.js';
import { type PromptParts, SUMMARY_HEADING, totalOf } from '../src/inference/prompt-accounting.js';
import { loadMemoryConfig } from '../src/memory/config.js';
import { openDatabase } from '../src/memory/database.js';
import type { Memory } from '../src/memory/memory.js';
import { openMemory } from '../src/memory/open-memory.js';
import { SummaryStore } from '../src/memory/summary-store.js';
import { CoreMetrics } from '../src/observability/metrics.js';
import { Pipeline } from '../src/pipeline.js';
import { TEST_MODEL, silentLogger, tempDir } from './support.js';

const engineOptions: LlamaEngineOptions = {
  modelPath: TEST_MODEL,
  modelsDirs: [],
  threads: 1,
  sequences: 1,
  contextSize: 512,
  maxTokens: 24,
  systemPrompt: 'You are a storyteller.',
};
const CONVERSATION = 'telegram:77';

const say = (n: number, text: string): Message => ({
  message_id: `${CONVERSATION}:${n}`,
  platform: 'telegram',
  conversation: { id: CONVERSATION, type: 'private' },
  sender: { id: 'telegram:77' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1_700_000_000 + n,
});

/** A core's parts on the database file: memory, engine, and a pipeline recording each prompt's parts. */
async function core(databasePath: string) {
  const memory = await openMemory({ ...loadMemoryConfig({}), databasePath }, silentLogger());
  const engine = await LlamaEngine.create(engineOptions, silentLogger());
  const prompts: PromptParts[] = [];
  // The core's own metrics beside a record of each turn's parts.
  const meter = new CoreMetrics({
    queue: async () => ({ waiting: 0, active: 0, running: 0 }),
    tiers: () => memory.stats(),
    tunnelReady: () => true,
    sequences: () => engine.sequences,
  });
  const metrics = {
    delivered() {},
    acked() {},
    generated() {},
    prompted: (parts: PromptParts) => {
      prompts.push(parts);
      meter.prompted(parts);
    },
  };
  const pipeline = new Pipeline({ keySet: keys, engine, memory, log: silentLogger(), send: () => true, metrics });
  const close = async () => {
    await pipeline.dispose();
    await memory.dispose();
    await engine.dispose();
  };
  return { memory, engine, pipeline, prompts, meter, close };
}

const summaryOnDisk = (databasePath: string, generation: number) => {
  const db = openDatabase(databasePath);
  try {
    return new SummaryStore(db).get(CONVERSATION, generation);
  } finally {
    db.close();
  }
};

/** The summary once the compaction the last reply started has stored it. */
async function settledSummary(memory: Memory): Promise<string> {
  await expect.poll(async () => (await memory.recall(CONVERSATION)).session.summary, { timeout: 30_000 }).toBeDefined();
  return (await memory.recall(CONVERSATION)).session.summary ?? '';
}

let keys: CoreKeySet;
let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  keys = await generateCoreKeySet();
  dir = await tempDir();
});
afterAll(() => dir?.cleanup());

describe('compaction by summary (real GGUF)', () => {
  it('keeps a 100-turn conversation within its context with a summary that survives a restart, until /reset', async () => {
    const databasePath = join(dir.dir, 'core.db');
    const first = await core(databasePath);
    const size = 512;
    for (let n = 1; n <= 100; n++) {
      await first.pipeline.replyTo(say(n, `Turn ${n}: tell me about the little fox and the number ${n * 7}.`));
      expect(first.engine.contextUsage(CONVERSATION)?.used ?? 0).toBeLessThanOrEqual(size);
    }
    expect(first.prompts).toHaveLength(100);
    // Bounded: no prompt ever outgrew the context, and the last ones are no bigger than the early peak.
    const totals = first.prompts.map(totalOf);
    expect(Math.max(...totals)).toBeLessThan(size);
    expect(Math.max(...totals.slice(-10))).toBeLessThanOrEqual(first.engine.historyTokens() + 2 * 24 + totals[0]!);
    // The summary was made and used: later prompts carry it.
    expect(first.prompts.slice(-50).filter((parts) => parts.summary > 0).length).toBeGreaterThan(40);
    const summary = await settledSummary(first.memory);
    expect(summary.length).toBeGreaterThan(0);
    const metered = await first.meter.registry.getSingleMetric('hearth_prompt_tokens_total')?.get();
    const summed = first.prompts.reduce((sum, parts) => sum + parts.summary, 0);
    expect(metered?.values.find((value) => value.labels.part === 'summary')?.value).toBe(summed);
    // Generated within a quarter of the budget; the text re-tokenized may split a token or two differently.
    expect(first.engine.countTokens(summary)).toBeLessThanOrEqual(Math.floor(first.engine.historyTokens() / 4) + 2);
    await first.close();
    // L3 holds the same summary as the session.
    expect(summaryOnDisk(databasePath, 0)?.text).toBe(summary);

    // A restart: new memory on the same file, a new engine; the context starts with that summary.
    const second = await core(databasePath);
    expect((await second.memory.recall(CONVERSATION)).session.summary).toBe(summary);
    await second.pipeline.replyTo(say(101, 'And then?'));
    expect(second.prompts[0]?.summary).toBe(second.engine.countTokens(`${SUMMARY_HEADING}\n${summary}`));
    expect(second.prompts[0]?.history).toBeGreaterThan(0);
    // /context shows the owner that same breakdown.
    const report = await second.pipeline.replyTo(say(150, '/context'));
    expect(report).toContain(`summary of earlier turns: ${second.prompts[0]?.summary}`);
    expect(report).toMatch(/total: \d+/);

    // /reset clears it everywhere: session, disk, and the next context.
    await expect.poll(async () => (await second.memory.recall(CONVERSATION)).session.summary !== undefined).toBe(true);
    expect(await second.pipeline.replyTo(say(102, '/reset'))).toMatch(/forgotten/);
    expect((await second.memory.recall(CONVERSATION)).session.summary).toBeUndefined();
    await second.pipeline.replyTo(say(103, 'Once upon a time'));
    expect(second.prompts.at(-1)).toMatchObject({ summary: 0, history: 0 });
    expect(await second.pipeline.replyTo(say(104, '/context'))).toContain('No summary yet');
    await second.close();
    expect(summaryOnDisk(databasePath, 1)).toBeUndefined();
    expect(summaryOnDisk(databasePath, 0)).toBeUndefined();
  }, 600_000);
});
