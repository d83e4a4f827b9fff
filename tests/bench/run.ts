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
import { startSystem, TEST_MODEL, textUpdate, WEBHOOK_SECRET, type System } from '../support/system.js';
import { fmt, percentile } from './stats.js';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const BURST_CHATS = 50;
const BURST_PER_CHAT = 20;
const MAX_TOKENS = 64;
let chat = 500_000;

type Route = 'webhooks/telegram' | 'diagnostics/direct/telegram';

/** POSTs one update to `route` and resolves when its reply reached the Bot API; returns ms. */
async function roundTrip(system: System, route: Route, chatId: number, text: string): Promise<number> {
  const started = performance.timeOrigin + performance.now();
  const update = textUpdate(chatId, text);
  const response = await fetch(`${system.edge.url}/${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': WEBHOOK_SECRET },
    body: JSON.stringify(update),
  });
  if (response.status !== 200) throw new Error(`${route} answered ${response.status}`);
  const key = `${chatId}:${update.message.message_id}`;
  await system.telegram.waitFor((calls) => answerAt(calls, key) !== undefined, 30_000);
  return (answerAt(system.telegram.calls, key) ?? Number.NaN) - started;
}

/** When each reply reached the fake Bot API, by chat and the message it answers; grown as calls come. */
const answered = new Map<string, number>();
let indexedCalls = 0;
let indexedList: unknown;
function answerAt(calls: System['telegram']['calls'], key: string): number | undefined {
  if (indexedList !== calls) [indexedList, indexedCalls] = [calls, 0];
  for (; indexedCalls < calls.length; indexedCalls++) {
    const call = calls[indexedCalls];
    // sendChatAction (typing) and other calls carry no reply_parameters: they answer nothing.
    const repliesTo = (call?.body.reply_parameters as { message_id?: number } | undefined)?.message_id;
    if (call && repliesTo !== undefined && !answered.has(`${String(call.body.chat_id)}:${repliesTo}`)) answered.set(`${String(call.body.chat_id)}:${repliesTo}`, call.at);
  }
  return answered.get(key);
}

async function latency(system: System, route: Route, n: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await roundTrip(system, route, ++chat, `ping ${i}`));
  return samples;
}

/** Messages per second: 50 conversations sending at once, each its messages one after another. */
async function throughput(system: System, route: Route): Promise<number> {
  const chats = Array.from({ length: BURST_CHATS }, () => ++chat);
  const started = performance.now();
  await Promise.all(chats.map(async (id) => {
    for (let n = 0; n < BURST_PER_CHAT; n++) await roundTrip(system, route, id, `burst ${n}`);
  }));
  return (BURST_CHATS * BURST_PER_CHAT) / ((performance.now() - started) / 1000);
}

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

const relay = await withSystem({ coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_SEQUENCES: '64' }, edgeVars: { HEARTH_DIAGNOSTICS: 'on', HEARTH_LOG_LEVEL: process.env.BENCH_EDGE_LOG_LEVEL ?? 'warn' } }, async (s) => {
  await latency(s, 'webhooks/telegram', 20); // warm-up both paths
  await latency(s, 'diagnostics/direct/telegram', 20);
  const viaRelay = await latency(s, 'webhooks/telegram', SAMPLES);
  const direct = await latency(s, 'diagnostics/direct/telegram', SAMPLES);
  const relayRate = await throughput(s, 'webhooks/telegram');
  const directRate = await throughput(s, 'diagnostics/direct/telegram');
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
  for (const prompt of prompts.slice(0, 5)) await roundTrip(s, 'webhooks/telegram', ++chat, prompt);
  const samples: number[] = [];
  for (const prompt of prompts) samples.push(await roundTrip(s, 'webhooks/telegram', ++chat, prompt));
  return samples;
});
const bare = await bareGeneration(prompts);
console.log(`\n2. Model path vs bare node-llama-cpp (stories260K, 1 thread, ${MAX_TOKENS} tokens): ${prompts.length} messages`);
line('   latency p50', fmt(percentile(modelPath, 50)), fmt(percentile(bare, 50)), percentile(modelPath, 50) / percentile(bare, 50), 'report');
