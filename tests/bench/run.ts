/**
 * `npm run bench`: webhook → sendMessage latency through the real system, each figure beside a
 * baseline measured in the same run on the same machine:
 *  - delivery path (HEARTH_ENGINE=echo) against workerd's floor (GET /healthz on the same edge);
 *  - model path (stories260K) against bare node-llama-cpp generating the same replies.
 * Messages are sent one at a time, each in a new conversation, so every sample is comparable.
 */
import { getLlama, LlamaChatSession } from 'node-llama-cpp';
import { loadCoreConfig } from '@hearth/core';
import { startSystem, TEST_MODEL, textUpdate, type System } from '../support/system.js';
import { fmt, percentile } from './stats.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 40);
const MAX_TOKENS = 64;
const PROMPT = (i: number) => `Tell me a story about a cat number ${i}`;
let chat = 500_000;

async function webhookToReply(system: System, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const chatId = ++chat;
    const started = performance.now();
    const response = await system.postUpdate(textUpdate(chatId, PROMPT(i)));
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}`);
    await system.telegram.waitFor((calls) => calls.some((c) => c.body.chat_id === String(chatId)), 30_000);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function edgeFloor(system: System, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await (await fetch(`${system.edge.url}/healthz`)).text();
    samples.push(performance.now() - started);
  }
  return samples;
}

/** The same generations the core does (same prompt, wrapper, system prompt, tokens, threads), bare. */
async function bareGeneration(n: number): Promise<number[]> {
  const { systemPrompt } = loadCoreConfig({});
  const llama = await getLlama({ gpu: 'auto' });
  const model = await llama.loadModel({ modelPath: TEST_MODEL });
  const context = await model.createContext({ sequences: 1, contextSize: { max: 2048 }, threads: 1 });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const sequence = context.getSequence();
    const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt });
    const started = performance.now();
    await session.prompt(PROMPT(i), { maxTokens: MAX_TOKENS });
    samples.push(performance.now() - started);
    session.dispose();
    sequence.dispose();
  }
  await llama.dispose();
  return samples;
}

function row(name: string, samples: number[], baseline: number[]) {
  const p50 = percentile(samples, 50);
  const p99 = percentile(samples, 99);
  const b50 = percentile(baseline, 50);
  console.log(`${name.padEnd(34)} p50 ${fmt(p50).padStart(9)}  p99 ${fmt(p99).padStart(9)}  baseline p50 ${fmt(b50).padStart(9)}  ratio ${(p50 / b50).toFixed(2)}x`);
}

const coreEnv = { HEARTH_THREADS: '1', HEARTH_MAX_TOKENS: String(MAX_TOKENS) };

/** Runs `body` against a fresh system, stopping it however `body` ends. */
async function withSystem<T>(coreEnv: Record<string, string>, body: (system: System) => Promise<T>): Promise<T> {
  const system = await startSystem({ coreEnv });
  try {
    return await body(system);
  } finally {
    await system.stop();
  }
}

console.log(`Hearth bench: ${SAMPLES} sequential messages per row, each in a new conversation\n`);
const [floor, echoPath] = await withSystem({ ...coreEnv, HEARTH_ENGINE: 'echo' }, async (system) => {
  await webhookToReply(system, 5); // warm-up
  return [await edgeFloor(system, SAMPLES), await webhookToReply(system, SAMPLES)] as const;
});
const modelPath = await withSystem(coreEnv, async (system) => {
  await webhookToReply(system, 5);
  return webhookToReply(system, SAMPLES);
});
const bare = await bareGeneration(SAMPLES);

row('delivery path (echo engine)', echoPath, floor);
row('model path (stories260K, 1 thread)', modelPath, bare);
console.log('\nbaselines: GET /healthz on the same workerd edge; bare node-llama-cpp, same prompts/tokens/threads');
