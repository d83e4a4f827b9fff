/**
 * `npm run bench:memory` (also the last part of `npm run bench`): prompt tokens per turn of one
 * long conversation through the core's pipeline on a real model, before (trim only: the engine
 * drops the oldest exchanges) and after (compaction: they are folded into a running summary),
 * in the same run, on the core's default context, reply length and system prompt.
 *
 * Reported at turn 10 and 100: the prompt's tokens (system prompt, summary, recent turns,
 * message: what a context built from scratch would read), of which the summary, and the mean
 * time per turn over the run (summaries included, as a ratio against trim only).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCoreKeySet, type Message } from '@hearth/shared';
import { type Engine, LlamaEngine, loadCoreConfig, loadMemoryConfig, openMemory, Pipeline, createLogger } from '@hearth/core';
import { TEST_MODEL } from '../support/system.js';

const TURNS = Number(process.env.BENCH_MEMORY_TURNS ?? 100);
const AT = [10, TURNS];
const PARTS = ['system', 'tools', 'summary', 'recall', 'history', 'message'] as const;
type Parts = Record<(typeof PARTS)[number], number>;

const say = (n: number): Message => ({
  message_id: `telegram:1:${n}`,
  platform: 'telegram',
  conversation: { id: 'telegram:1', type: 'private' },
  sender: { id: 'telegram:1' },
  content: { text: `Turn ${n}: tell me more about the little fox and the number ${n * 7}.`, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1_700_000_000 + n,
});

/**
 * The engine as the pipeline sees it: without its history budget and summaries the pipeline never
 * compacts (the trim-only core); with them, each summary is counted.
 */
function engineFor(engine: LlamaEngine, compaction: boolean, summaries: { count: number }): Engine {
  const base: Engine = {
    name: engine.name,
    modelId: engine.modelId,
    sequences: engine.sequences,
    reply: (message, options) => engine.reply(message, options),
    reset: (id) => engine.reset(id),
    describe: () => engine.describe(),
    countTokens: (text) => engine.countTokens(text),
    dispose: () => engine.dispose(),
  };
  if (!compaction) return base;
  return {
    ...base,
    historyTokens: () => engine.historyTokens(),
    summarize: (text, options) => {
      summaries.count++;
      return engine.summarize(text, options);
    },
  };
}

interface Run {
  prompts: Parts[];
  msPerTurn: number;
  summaries: number;
}

async function conversation(compaction: boolean, maxTokens: number): Promise<Run> {
  const config = loadCoreConfig({ HEARTH_MODEL: TEST_MODEL, HEARTH_THREADS: '1', HEARTH_MAX_TOKENS: String(maxTokens) });
  const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-memory-'));
  const log = createLogger('warn');
  const memory = await openMemory({ ...loadMemoryConfig({ HEARTH_DATA_DIR: dir }), redisUrl: undefined }, log);
  const llama = await LlamaEngine.create({ ...config, sequences: 2 }, log);
  const summaries = { count: 0 };
  const engine = engineFor(llama, compaction, summaries);
  const prompts: Parts[] = [];
  const metrics = { delivered() {}, acked() {}, generated() {}, prompted: (parts: Parts) => prompts.push(parts) };
  const pipeline = new Pipeline({ keySet: await generateCoreKeySet(), engine, memory, log, send: () => true, metrics, summaryTokens: loadMemoryConfig({}).summaryTokens });
  const started = performance.now();
  for (let n = 1; n <= TURNS; n++) await pipeline.replyTo(say(n));
  await pipeline.dispose();
  const msPerTurn = (performance.now() - started) / TURNS;
  await memory.dispose();
  await llama.dispose();
  await rm(dir, { recursive: true, force: true });
  return { prompts, msPerTurn, summaries: summaries.count };
}

const cuts = (run: Run) => run.prompts.filter((parts, i) => i > 0 && parts.history < run.prompts[i - 1]!.history).length;
const total = (parts: Parts) => PARTS.reduce((sum, part) => sum + parts[part], 0);
const { contextSize, maxTokens: defaultMaxTokens } = loadCoreConfig({ HEARTH_MODEL: TEST_MODEL });
const at = (run: Run, turn: number) => `${total(run.prompts[turn - 1]!)} (${run.prompts[turn - 1]!.summary})`;
const rows: string[] = [];
const notes: string[] = [];
// The default reply length, then shorter replies (more turns fit between two folds).
for (const maxTokens of [defaultMaxTokens, 64]) {
  const before = await conversation(false, maxTokens);
  const after = await conversation(true, maxTokens);
  for (const [name, run] of [['trim only (before, baseline)', before], ['compaction by summary (after)', after]] as const) {
    rows.push(`| ${maxTokens} | ${name} | ${AT.map((turn) => at(run, turn)).join(' | ')} | ${Math.max(...run.prompts.map(total))} | ${run.msPerTurn.toFixed(0)} |`);
  }
  notes.push(
    `Replies up to ${maxTokens} tokens: ${cuts(before)} trims before; ${after.summaries} summaries after; time per turn ${(after.msPerTurn / before.msPerTurn).toFixed(2)}x the baseline.`,
  );
}
const report = [
  `# npm run bench:memory -w @hearth/tests (${new Date().toISOString().slice(0, 10)})`,
  '',
  `One conversation of ${TURNS} turns through the pipeline, stories260K.gguf, context ${contextSize}, 1 thread, the default system prompt and HEARTH_SUMMARY_TOKENS (${loadMemoryConfig({}).summaryTokens}), Node ${process.version}.`,
  'Prompt tokens: the whole prompt of the turn (system prompt, summary, recent turns, message), of which the summary in brackets.',
  '',
  `| reply tokens | core | prompt tokens at turn ${AT[0]} | at turn ${AT[1]} | largest prompt | ms per turn |`,
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  ...notes,
  '',
  'Time per turn includes each summary generation, which the next turn waits for here (turns come back to back); in use it runs after the reply is sent, while the person reads.',
  '',
].join('\n');
console.log(report);
await writeFile(join(import.meta.dirname, 'reports/memory.md'), report);
