/**
 * `npm run bench`: what the delivery path costs, each figure beside a baseline measured in the
 * same run on this machine.
 *
 * 1. Relay vs direct (HEARTH_ENGINE=echo): webhook → sendMessage latency, one message at a
 *    time, and throughput, 1,000 messages over 50 conversations; the baseline is the same
 *    worker answering straight from the webhook (`/diagnostics/direct/telegram`): no Relay,
 *    no tunnel, no core.
 *    The edge logs at warn (BENCH_EDGE_LOG_LEVEL to change), so neither path pays for
 *    per-message log lines that wrangler dev formats and prints on this same machine.
 * 2. Model path vs bare node-llama-cpp: the same replies generated through the whole system
 *    and by a bare loop (same prompts, tokens, threads).
 */
import { getLlama, LlamaChatSession } from 'node-llama-cpp';
import { loadCoreConfig } from '@hearth/core';
import { startSystem, TEST_MODEL, type System } from '../support/system.js';
import { latency, replyRoundTrip, throughput } from './round-trip.js';
import { fmt, percentile } from './stats.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const BURST_CHATS = 50;
const BURST_PER_CHAT = 20;
const MAX_TOKENS = 64;
let chat = 900_000;

/** The same generations the core does (same prompt, wrapper, system prompt, tokens, threads), bare. */
async function bareGeneration(prompts: string[]): Promise<number[]> {
  const { systemPrompt } = loadCoreConfig({});
  const llama = await getLlama({ gpu: 'auto' });
  const model = await llama.loadModel({ modelPath: TEST_MODEL });
  const context = await model.createContext({ sequences: 1, contextSize: { max: 2048 }, threads: 1 });
  const samples: number[] = [];
  for (const prompt of prompts) {
    const sequence = context.getSequence();
    const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt });
    const started = performance.now();
    await session.prompt(prompt, { maxTokens: MAX_TOKENS });
    samples.push(performance.now() - started);
    session.dispose();
    sequence.dispose();
  }
  await llama.dispose();
  return samples;
}

/** Runs `body` against a fresh system, stopping it however `body` ends. */
async function withSystem<T>(options: Parameters<typeof startSystem>[0], body: (system: System) => Promise<T>): Promise<T> {
  const system = await startSystem(options);
  try {
    return await body(system);
  } finally {
    await system.stop();
  }
}

const line = (name: string, value: string, baseline: string, ratio: number, target: string) =>
  console.log(`${name.padEnd(28)} ${value.padStart(12)}   baseline ${baseline.padStart(12)}   ratio ${ratio.toFixed(2).padStart(5)}x   (target ${target})`);

console.log(`Hearth bench on ${process.platform}/${process.arch}, Node ${process.version}\n`);

// Telegram's pacing (30 sends a second, 1 a second per chat) would cap the Relay at about 28 msg/s
// here and measure the Bot API's limits, not the Relay: it is off, as the direct route has none.
const unpaced = { TELEGRAM_CHAT_INTERVAL_MS: '0', TELEGRAM_GROUP_INTERVAL_MS: '0', TELEGRAM_MAX_PER_SECOND: '1000' };
const edgeVars = { HEARTH_DIAGNOSTICS: 'on', HEARTH_LOG_LEVEL: process.env.BENCH_EDGE_LOG_LEVEL ?? 'warn', ...unpaced };
const relay = await withSystem({ coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_SEQUENCES: '64' }, edgeVars }, async (s) => {
  const viaRelaySend = replyRoundTrip(`${s.edge.url}/webhooks/telegram`, s.telegram);
  const directSend = replyRoundTrip(`${s.edge.url}/diagnostics/direct/telegram`, s.telegram);
  await latency(viaRelaySend, 20); // warm-up both paths
  await latency(directSend, 20);
  const viaRelay = await latency(viaRelaySend, SAMPLES);
  const direct = await latency(directSend, SAMPLES);
  const relayRate = await throughput(viaRelaySend, BURST_CHATS, BURST_PER_CHAT);
  const directRate = await throughput(directSend, BURST_CHATS, BURST_PER_CHAT);
  return { viaRelay, direct, relayRate, directRate };
});

console.log(`1. Relay vs direct, echo engine: ${SAMPLES} sequential messages; ${BURST_CHATS * BURST_PER_CHAT} over ${BURST_CHATS} conversations`);
for (const p of [50, 99]) {
  const value = percentile(relay.viaRelay, p);
  const base = percentile(relay.direct, p);
  line(`   latency p${p}`, fmt(value), fmt(base), value / base, p === 50 ? '<= 1.5x' : 'report');
}
line('   throughput', `${relay.relayRate.toFixed(0)} msg/s`, `${relay.directRate.toFixed(0)} msg/s`, relay.relayRate / relay.directRate, '>= 0.5x');

const prompts = Array.from({ length: 40 }, (_, i) => `Tell me a story about a cat number ${i}`);
const modelPath = await withSystem({ coreEnv: { HEARTH_THREADS: '1', HEARTH_MAX_TOKENS: String(MAX_TOKENS) } }, async (s) => {
  const send = replyRoundTrip(`${s.edge.url}/webhooks/telegram`, s.telegram);
  for (const prompt of prompts.slice(0, 5)) await send(++chat, prompt);
  const samples: number[] = [];
  for (const prompt of prompts) samples.push(await send(++chat, prompt));
  return samples;
});
const bare = await bareGeneration(prompts);
console.log(`\n2. Model path vs bare node-llama-cpp (stories260K, 1 thread, ${MAX_TOKENS} tokens): ${prompts.length} messages`);
line('   latency p50', fmt(percentile(modelPath, 50)), fmt(percentile(bare, 50)), percentile(modelPath, 50) / percentile(bare, 50), 'report');
