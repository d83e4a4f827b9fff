/**
 * Aggregate generation tokens/s with 1, 4 and 16 conversations at once, on a random-weight model
 * with TinyLlama-1.1B's shape (random-gguf.ts; its layers scaled down by BENCH_LAYERS when the
 * full model is too slow here): bare node-llama-cpp (one context with n sequences, a chat session
 * on each, all prompted at once: llama.cpp evaluates them in shared batches) beside Hearth's
 * LlamaEngine doing the same through `reply` (HEARTH_SEQUENCES = n, one conversation each).
 * Tokens are counted as generated (onToken / onTokens), not re-tokenized from the text: random
 * weights write noise.
 */
import { existsSync } from 'node:fs';
import { createLogger, LlamaEngine } from '@hearth/core';
import type { Message } from '@hearth/shared';
import { getLlama, LlamaChatSession, LlamaLogLevel } from 'node-llama-cpp';
import { randomModelPath, TINYLLAMA_1_1B, writeRandomGguf } from './random-gguf.js';

export interface BatchRow {
  conversations: number;
  /** Aggregate generated tokens per wall-clock second. */
  bare: number;
  engine: number;
  /** Generated tokens per CPU second of this process (all its threads): steadier on a shared machine. */
  bareCpu: number;
  engineCpu: number;
}

export interface BatchOptions {
  layers: number;
  threads: number;
  maxTokens: number;
  /** Context tokens per conversation. */
  contextSize: number;
  counts: readonly number[];
  /** Timed rounds per side (the median is kept). */
  rounds: number;
}

const SYSTEM_PROMPT = 'You are a storyteller.';
const promptFor = (i: number) => `Once upon a time, a little cat number ${i} went to the park and`;

const say = (conversation: string, text: string): Message => ({
  message_id: `${conversation}:1`,
  platform: 'telegram',
  conversation: { id: conversation, type: 'private' },
  sender: { id: 'telegram:1' },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1,
});

/** The random model of `layers` blocks, written first when it is not there yet. */
async function randomModel(layers: number): Promise<string> {
  const path = randomModelPath(layers, 'q4_0');
  if (!existsSync(path)) await writeRandomGguf({ shape: { ...TINYLLAMA_1_1B, layers }, quant: 'q4_0', out: path });
  return path;
}

export async function batchBench(options: BatchOptions): Promise<{ model: string; rows: BatchRow[] }> {
  const model = await randomModel(options.layers);
  const { threads, maxTokens, contextSize } = options;
  const llama = await getLlama({ gpu: 'auto', logLevel: LlamaLogLevel.error });
  const loaded = await llama.loadModel({ modelPath: model });

  /** One round on each side: n new conversations prompted at once; the aggregate tokens/s. */
  const measure = async (run: (onTokens: (count: number) => void) => Promise<unknown>): Promise<{ wall: number; cpu: number }> => {
    let tokens = 0;
    const started = performance.now();
    const cpuStarted = process.cpuUsage();
    await run((count) => {
      tokens += count;
    });
    const { user, system } = process.cpuUsage(cpuStarted);
    return { wall: tokens / ((performance.now() - started) / 1000), cpu: tokens / ((user + system) / 1e6) };
  };
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

  const rows: BatchRow[] = [];
  try {
    for (const n of options.counts) {
      const context = await loaded.createContext({ sequences: n, contextSize: { max: contextSize }, threads });
      const sequences = Array.from({ length: n }, () => context.getSequence());
      const engine = await LlamaEngine.create({ modelPath: model, modelsDirs: [], threads, sequences: n, contextSize, maxTokens, systemPrompt: SYSTEM_PROMPT }, createLogger('silent'));
      try {
        const bareRound = (onTokens: (count: number) => void) =>
          Promise.all(
            sequences.map(async (sequence, i) => {
              const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: SYSTEM_PROMPT });
              await session.prompt(promptFor(i), { maxTokens, onToken: (t) => onTokens(t.length) });
              session.dispose({ disposeSequence: false });
              await sequence.clearHistory();
            }),
          );
        let round = 0;
        const engineRound = (onTokens: (count: number) => void) => {
          const ids = Array.from({ length: n }, (_, i) => `bench:${n}:${round}:${i}`);
          round++;
          return Promise.all(ids.map(async (id, i) => {
            await engine.reply(say(id, promptFor(i)), { onTokens });
            await engine.reset(id);
          }));
        };
        // Untimed rounds first (page faults of the mapped weights, first allocations); then the
        // two sides alternate, so the machine's drift hits both.
        await measure(bareRound);
        await measure(engineRound);
        const bare: { wall: number; cpu: number }[] = [];
        const viaEngine: { wall: number; cpu: number }[] = [];
        for (let i = 0; i < options.rounds; i++) {
          bare.push(await measure(bareRound));
          viaEngine.push(await measure(engineRound));
        }
        rows.push({
          conversations: n,
          bare: median(bare.map((r) => r.wall)),
          engine: median(viaEngine.map((r) => r.wall)),
          bareCpu: median(bare.map((r) => r.cpu)),
          engineCpu: median(viaEngine.map((r) => r.cpu)),
        });
      } finally {
        await engine.dispose();
        await context.dispose();
      }
    }
  } finally {
    await loaded.dispose();
    await llama.dispose();
  }
  return { model, rows };
}
