/**
 * The core's model path against bare node-llama-cpp, same model, threads, system prompt, prompts
 * and token limit, in one process: each sample is a new conversation of `turns` turns, run by
 * 1. bare node-llama-cpp: a LlamaChatSession on one sequence, cleared after (the baseline);
 * 2. Hearth's LlamaEngine: `reply` with a streaming callback, then `reset`;
 * 3. the core's Pipeline: a sealed delivery in, the ack out (unsealing, memory, history, the
 *    engine, streamed partials, the reply stored), without recall and with recall (the built-in
 *    hashing embedder: the message is embedded, searched and remembered every turn, and what it
 *    finds is added to the prompt, which the model then reads).
 * The four are interleaved sample by sample, so the machine's drift hits each alike; the
 * figure is the median time of a sample.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, LlamaEngine, loadMemoryConfig, loadRecallConfig, openMemory, Pipeline, Recall } from '@hearth/core';
import { generateCoreKeySet, publicKeySet, seal, type CoreFrameBody, type DeliverFrame, type Message } from '@hearth/shared';
import { getLlama, LlamaChatSession, LlamaLogLevel } from 'node-llama-cpp';

export interface PathOptions {
  model: string;
  threads: number;
  maxTokens: number;
  turns: number;
  samples: number;
}

type Route = 'bare' | 'engine' | 'pipeline' | 'pipelineRecall';

export interface PathResult {
  /** Median wall-clock ms of one sample (a conversation of `turns` turns), per route. */
  ms: Record<Route, number>;
  /**
   * Median CPU ms of this process (every thread: llama.cpp's, onnxruntime's, JS) for one sample:
   * on a machine others load too, it moves far less than the wall clock.
   */
  cpuMs: Record<Route, number>;
  /** Tokens of the replies of one sample (the same text on every route: greedy decoding). */
  tokens: Record<'bare' | 'engine', number>;
}

const SYSTEM_PROMPT = 'You are a storyteller.';
const CONTEXT = 2048;
const promptFor = (sample: number, turn: number) => `Once upon a time, a little cat number ${sample} went to the park and saw thing ${turn}`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export async function pathBench(options: PathOptions): Promise<PathResult> {
  const { model, threads, maxTokens, turns } = options;
  const log = createLogger('silent');
  const llama = await getLlama({ gpu: 'auto', logLevel: LlamaLogLevel.error });
  const loaded = await llama.loadModel({ modelPath: model });
  const context = await loaded.createContext({ sequences: 1, contextSize: { max: CONTEXT }, threads });
  const sequence = context.getSequence();
  const engine = await LlamaEngine.create({ modelPath: model, modelsDirs: [], threads, sequences: 1, contextSize: CONTEXT, maxTokens, systemPrompt: SYSTEM_PROMPT }, log);
  const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-path-'));
  const memory = await openMemory({ ...loadMemoryConfig({}), databasePath: join(dir, 'core.db') }, log);
  const recall = await Recall.open({ dbPath: join(dir, 'core.db'), config: loadRecallConfig({}) });
  const keySet = await generateCoreKeySet();
  const acked = new Map<string, () => void>();
  const send = (frame: CoreFrameBody) => {
    if (frame.type === 'ack') acked.get(frame.message_id)?.();
    return true;
  };
  const pipeline = new Pipeline({ keySet, engine, memory, log, send });
  const pipelineRecall = new Pipeline({ keySet, engine, memory, recall, log, send });
  const tokens = (text: string) => loaded.tokenize(text).length;
  let next = 0;
  const message = (conversation: string, text: string): Message => ({
    message_id: `${conversation}:${++next}`,
    platform: 'telegram',
    conversation: { id: conversation, type: 'private' },
    sender: { id: conversation },
    content: { text, attachments: [], entities: [] },
    reply_to: null,
    timestamp: Date.now(),
  });

  const bare = async (sample: number) => {
    const session = new LlamaChatSession({ contextSequence: sequence, systemPrompt: SYSTEM_PROMPT });
    let count = 0;
    for (let turn = 0; turn < turns; turn++) count += tokens(await session.prompt(promptFor(sample, turn), { maxTokens, onTextChunk: () => {} }));
    session.dispose({ disposeSequence: false });
    await sequence.clearHistory();
    return count;
  };
  const viaEngine = async (sample: number) => {
    const id = `engine:${sample}:${next++}`;
    let count = 0;
    for (let turn = 0; turn < turns; turn++) count += tokens(await engine.reply(message(id, promptFor(sample, turn)), { onText: () => {} }));
    await engine.reset(id);
    return count;
  };
  // Sealing is the edge's work: done before the clock starts.
  const viaPipeline = async (route: Pipeline, sample: number, timed: (run: () => Promise<void>) => Promise<void>) => {
    const id = `telegram:${1_000_000 + next++}`;
    for (let turn = 0; turn < turns; turn++) {
      const m = message(id, promptFor(sample, turn));
      const frame: DeliverFrame = { v: 1, type: 'deliver', message_id: m.message_id, conversation_id: id, attempt: 1, sealed: await seal(JSON.stringify(m), publicKeySet(keySet)) };
      await timed(() => new Promise<void>((done) => {
        acked.set(m.message_id, done);
        void route.handle(frame);
      }));
      acked.delete(m.message_id);
    }
    await engine.reset(id);
  };

  const routes = ['bare', 'engine', 'pipeline', 'pipelineRecall'] as const;
  const samples = Object.fromEntries(routes.map((r) => [r, [] as number[]])) as Record<Route, number[]>;
  const cpuSamples = Object.fromEntries(routes.map((r) => [r, [] as number[]])) as Record<Route, number[]>;
  const counted = { bare: 0, engine: 0 };
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  let cpu = 0;
  const clock = async <T>(run: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const cpuStarted = cpuMs();
    const value = await run();
    cpu += cpuMs() - cpuStarted;
    return [value, performance.now() - started];
  };
  /** The CPU ms clocked since the last call. */
  const takeCpu = () => {
    const spent = cpu;
    cpu = 0;
    return spent;
  };
  try {
    for (let i = -2; i < options.samples; i++) {
      // The first two rounds warm every route up (first allocations, recall's onnxruntime) and are not kept.
      const keep = i >= 0;
      takeCpu();
      const [bareTokens, bareMs] = await clock(() => bare(i));
      const bareCpu = takeCpu();
      const [engineTokens, engineMs] = await clock(() => viaEngine(i));
      const engineCpu = takeCpu();
      let pipelineMs = 0;
      await viaPipeline(pipeline, i, async (run) => {
        pipelineMs += (await clock(run))[1];
      });
      const pipelineCpu = takeCpu();
      let recallMs = 0;
      await viaPipeline(pipelineRecall, i, async (run) => {
        recallMs += (await clock(run))[1];
      });
      const recallCpu = takeCpu();
      if (!keep) continue;
      samples.bare.push(bareMs);
      samples.engine.push(engineMs);
      samples.pipeline.push(pipelineMs);
      samples.pipelineRecall.push(recallMs);
      cpuSamples.bare.push(bareCpu);
      cpuSamples.engine.push(engineCpu);
      cpuSamples.pipeline.push(pipelineCpu);
      cpuSamples.pipelineRecall.push(recallCpu);
      counted.bare = bareTokens;
      counted.engine = engineTokens;
    }
  } finally {
    await pipeline.dispose();
    await pipelineRecall.dispose();
    await recall.dispose();
    await memory.dispose();
    await engine.dispose();
    await context.dispose();
    await loaded.dispose();
    await llama.dispose();
    await rm(dir, { recursive: true, force: true });
  }
  const medians = (by: Record<Route, number[]>) => Object.fromEntries(routes.map((r) => [r, median(by[r])])) as Record<Route, number>;
  return { ms: medians(samples), cpuMs: medians(cpuSamples), tokens: counted };
}
