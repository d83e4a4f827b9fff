/**
 * `npm run bench` (part 3): the core's inference path, each figure beside a baseline measured in
 * the same run on this machine.
 *
 * 1. Generation tokens/s through the core's engine (LlamaEngine: its chat session per
 *    conversation, streaming callback, history budget) vs a bare node-llama-cpp loop on the same
 *    model, threads, prompts and token limit. The ratio is the core's overhead (target >= 0.9).
 * 2. Aggregate tokens/s with 1, 4 and 16 conversations generating at once on one context with
 *    that many sequences (the batching gain), as a ratio to the single conversation.
 * 3. Resident memory of a running core: idle without a model (echo engine) and with the test
 *    model loaded, read from /proc while it is connected to a real edge.
 *
 * Tokens are counted the same way on both sides: the reply text tokenized with the model.
 */
import { readFile } from 'node:fs/promises';
import { LlamaEngine, createLogger } from '@hearth/core';
import type { Message } from '@hearth/shared';
import { getLlama, LlamaChatSession } from 'node-llama-cpp';
import { startSystem, TEST_MODEL } from '../support/system.js';

const THREADS = Number(process.env.BENCH_THREADS ?? 1);
const MAX_TOKENS = 128;
const CONTEXT = 2048;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const SYSTEM_PROMPT = 'You are a storyteller.';
const prompts = Array.from({ length: ROUNDS }, (_, i) => `Once upon a time, a little cat number ${i} went to the park and`);

const say = (conversation: string, n: number, text: string): Message => ({
  message_id: `${conversation}:${n}`,
  platform: 'telegram',
  conversation: { id: conversation, type: 'private' },
  sender: { id: 'telegram:1' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: n,
});

const llama = await getLlama({ gpu: 'auto' });
const tokenizerModel = await llama.loadModel({ modelPath: TEST_MODEL });
const tokens = (text: string) => tokenizerModel.tokenize(text).length;

/** Bare node-llama-cpp: a fresh chat session per prompt on one sequence, as the core does per new conversation. */
async function bare(): Promise<{ tokens: number; ms: number }> {
  const context = await tokenizerModel.createContext({ sequences: 1, contextSize: { max: CONTEXT }, threads: THREADS });
  let total = 0;
  let ms = 0;
  for (const prompt of prompts) {
    const session = new LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: SYSTEM_PROMPT, autoDisposeSequence: true });
    const started = performance.now();
    const text = await session.prompt(prompt, { maxTokens: MAX_TOKENS });
    ms += performance.now() - started;
    total += tokens(text);
    session.dispose();
  }
  await context.dispose();
  return { tokens: total, ms };
}

/** The core's engine, one new conversation per prompt (its context kept, as between turns). */
async function viaEngine(sequences: number, concurrent: number): Promise<{ tokens: number; ms: number }> {
  const engine = await LlamaEngine.create(
    { modelPath: TEST_MODEL, modelsDirs: [], threads: THREADS, sequences, contextSize: CONTEXT, maxTokens: MAX_TOKENS, systemPrompt: SYSTEM_PROMPT },
    createLogger('silent'),
  );
  try {
    // Warm-up, not counted: the bare loop gets one too.
    await engine.reply(say('bench:warm-up', 1, prompts[0] ?? 'Once upon a time'));
    await engine.reset('bench:warm-up');
    let total = 0;
    const started = performance.now();
    for (let i = 0; i < prompts.length; i += concurrent) {
      const batch = prompts.slice(i, i + concurrent);
      const replies = await Promise.all(batch.map((prompt, j) => engine.reply(say(`bench:${concurrent}:${i + j}`, 1, prompt), { onText: () => {} })));
      for (const reply of replies) total += tokens(reply);
    }
    return { tokens: total, ms: performance.now() - started };
  } finally {
    await engine.dispose();
  }
}

const perSecond = (r: { tokens: number; ms: number }) => r.tokens / (r.ms / 1000);
const row = (name: string, value: number, baseline: number, target: string) =>
  console.log(`${name.padEnd(36)} ${value.toFixed(0).padStart(7)} tok/s   baseline ${baseline.toFixed(0).padStart(7)} tok/s   ratio ${(value / baseline).toFixed(2).padStart(5)}x   (target ${target})`);

console.log(`\n3. Inference (stories260K, ${THREADS} thread(s), up to ${MAX_TOKENS} tokens, ${ROUNDS} prompts)`);
/** Median of three: the two sides are measured alternately, so drift on the machine hits both. */
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
await bare();
const bareRuns: number[] = [];
const engineRuns: number[] = [];
for (let i = 0; i < 3; i++) {
  bareRuns.push(perSecond(await bare()));
  engineRuns.push(perSecond(await viaEngine(1, 1)));
}
row('   core engine vs bare, 1 conversation', median(engineRuns), median(bareRuns), '>= 0.9x');

const single = median(engineRuns);
for (const n of [4, 16]) {
  const aggregate = perSecond(await viaEngine(n, n));
  row(`   ${String(n).padStart(2)} conversations at once (aggregate)`, aggregate, single, 'report: batching gain');
}
await llama.dispose();

/** VmRSS of a process, in MiB. */
async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

async function coreRss(env: Record<string, string>): Promise<number> {
  const system = await startSystem({ coreEnv: { HEARTH_THREADS: String(THREADS), ...env } });
  try {
    await new Promise((r) => setTimeout(r, 1_000));
    return await rssMiB(system.core.pid ?? 0);
  } finally {
    await system.stop();
  }
}

const idle = await coreRss({ HEARTH_ENGINE: 'echo' });
const loaded = await coreRss({ HEARTH_MODEL: TEST_MODEL, HEARTH_SEQUENCES: '4' });
console.log(`   core RSS, connected, idle without a model   ${idle.toFixed(0).padStart(5)} MiB`);
console.log(`   core RSS, connected, test model loaded       ${loaded.toFixed(0).padStart(5)} MiB   (+${(loaded - idle).toFixed(0)} MiB; 4 sequences of ${CONTEXT} tokens)`);
