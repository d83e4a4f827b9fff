/**
 * Load, part of `npm run bench:hostile`: Telegram webhooks (a unique update and chat each) at
 * increasing offered rates, with autocannon on loopback, against the real edge (wrangler dev)
 * and a real core on the echo engine. Per step: offered and achieved rate, p50/p99 of the
 * webhook's answer, counts by status; the knee is the first rate whose p99 passes 1 s. Beyond
 * it the edge must shed with 503 + Retry-After (never another 5xx, no connection errors), and
 * every update it accepted (200) must get exactly one reply at the fake Bot API.
 *
 * The edge sheds at HEARTH_QUEUE_MAX (messages waiting or in flight). The default (10,000) is
 * a week-long outage's worth, which on this machine would let a burst queue for many seconds
 * before anything is refused; the run sets it to a backlog the core drains in about a second
 * (HOSTILE_QUEUE_MAX, default 300) so that shedding is what the run shows.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { expectExactlyOnceInOrder } from '../support/exactly-once.js';
import { startSystem, WEBHOOK_SECRET, type System, type TextUpdate } from '../support/system.js';
import { descendants, rssMiB } from './process-memory.js';

export interface LoadStep {
  offered: number;
  achieved: number;
  requests: number;
  p50: number;
  p99: number;
  statuses: Record<string, number>;
  retryAfterMissing: number;
  errors: number;
  timeouts: number;
}

export interface MemorySample {
  at: number;
  workerd: number;
  core: number;
}

export interface LoadResult {
  steps: LoadStep[];
  knee: number | undefined;
  accepted: number;
  exactlyOnce: string;
  queueMax: number;
  memory: { workerd: MemoryStats; core: MemoryStats };
}

export interface MemoryStats {
  start: number;
  peak: number;
  end: number;
}

/** Samples the RSS of workerd (every process under wrangler) and of the core every 500 ms. */
export function sampleMemory(system: System): { stop: () => Promise<MemorySample[]> } {
  const samples: MemorySample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const wrangler = system.edge.child.pid;
      const workerd = wrangler ? await descendants(wrangler) : [];
      const edge = (await Promise.all(workerd.map(rssMiB))).reduce((a, b) => a + b, 0);
      const core = (await Promise.all(system.cores.map((c) => (c.pid ? rssMiB(c.pid) : 0)))).reduce((a, b) => a + b, 0);
      samples.push({ at: Date.now(), workerd: edge, core });
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

export function memoryStats(samples: MemorySample[], key: 'workerd' | 'core'): MemoryStats {
  const values = samples.map((s) => s[key]).filter((v) => v > 0);
  return { start: values[0] ?? 0, peak: Math.max(0, ...values), end: values.at(-1) ?? 0 };
}

let nextChat = 20_000_000;
let nextUpdate = 1;

/** One step: `rate` webhooks a second for `seconds`, each a new update in a new chat. */
export async function step(system: System, rate: number, seconds: number, accepted: TextUpdate[]): Promise<LoadStep> {
  const statuses: Record<string, number> = {};
  let retryAfterMissing = 0;
  const started = Date.now();
  const result = await autocannon({
    url: system.edge.url,
    // Enough connections that the offered rate is not capped by latency below ~1 s.
    connections: Math.min(400, Math.max(20, Math.ceil(rate * 1.2))),
    overallRate: rate,
    duration: seconds,
    timeout: 30,
    requests: [
      {
        method: 'POST',
        path: '/webhooks/telegram',
        headers: { 'content-type': 'application/json', 'X-Telegram-Bot-Api-Secret-Token': WEBHOOK_SECRET },
        setupRequest: (request, context) => {
          const chat = ++nextChat;
          const id = nextUpdate++;
          const update: TextUpdate = {
            update_id: 50_000_000 + id,
            message: { message_id: id, date: Math.floor(Date.now() / 1000), chat: { id: chat, type: 'private', first_name: 'Load' }, from: { id: chat, is_bot: false, first_name: 'Load' }, text: `load ${id}` },
          };
          (context as { update?: TextUpdate }).update = update;
          return { ...request, body: JSON.stringify(update) };
        },
        onResponse: (status, _body, context, headers) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          const sent = (context as { update?: TextUpdate }).update;
          if (status === 200 && sent) accepted.push(sent);
          // autocannon hands headers over as an object (older versions: a flat [name, value, ...] list).
          const names = Array.isArray(headers) ? (headers as string[]).filter((_, i) => i % 2 === 0) : Object.keys(headers ?? {});
          if (status === 503 && !names.some((h) => String(h).toLowerCase() === 'retry-after')) retryAfterMissing++;
        },
      },
    ],
  });
  const elapsed = (Date.now() - started) / 1000;
  return {
    offered: rate,
    achieved: result.requests.total / elapsed,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    statuses,
    retryAfterMissing,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

export async function runLoad({ rates, seconds, queueMax }: { rates: number[]; seconds: number; queueMax: number }): Promise<LoadResult> {
  const system = await startSystem({
    coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_SEQUENCES: '32' },
    edgeVars: {
      HEARTH_QUEUE_MAX: String(queueMax),
      // Only warnings: wrangler dev formats and prints every line on this same machine.
      HEARTH_LOG_LEVEL: 'warn',
      // Replies to the fake Bot API unpaced: the run measures the edge, not Telegram's limits.
      TELEGRAM_CHAT_INTERVAL_MS: '0',
      TELEGRAM_MAX_PER_SECOND: '1000',
    },
  });
  const memory = sampleMemory(system);
  try {
    const accepted: TextUpdate[] = [];
    const steps: LoadStep[] = [];
    for (const rate of rates) {
      const s = await step(system, rate, seconds, accepted);
      steps.push(s);
      console.log(
        `  offered ${String(rate).padStart(5)}/s  achieved ${s.achieved.toFixed(0).padStart(5)}/s  p50 ${s.p50.toFixed(0).padStart(5)} ms  p99 ${s.p99.toFixed(0).padStart(5)} ms  ${JSON.stringify(s.statuses)}  errors ${s.errors} timeouts ${s.timeouts}`,
      );
      // Let the backlog of this step drain before the next, so each step starts from an empty queue.
      await new Promise((r) => setTimeout(r, 3_000));
    }
    let exactlyOnce = 'ok';
    try {
      await expectExactlyOnceInOrder(system, accepted, 300_000);
    } catch (error) {
      exactlyOnce = error instanceof Error ? error.message : String(error);
      // The edge's warnings and errors (it logs at warn here) say what happened: kept for a look.
      const file = join(tmpdir(), `hostile-load-edge-${Date.now()}.log`);
      await writeFile(file, `${system.edgeLines.join('\n')}\n`);
      exactlyOnce += ` (edge log: ${file})`;
    }
    const samples = await memory.stop();
    return {
      steps,
      knee: steps.find((s) => s.p99 > 1_000)?.offered,
      accepted: accepted.length,
      exactlyOnce,
      queueMax,
      memory: { workerd: memoryStats(samples, 'workerd'), core: memoryStats(samples, 'core') },
    };
  } finally {
    await memory.stop();
    await system.stop();
  }
}
