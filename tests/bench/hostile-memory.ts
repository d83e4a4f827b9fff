/**
 * Memory over repeated load, part of `npm run bench:hostile`: rounds of Telegram webhooks, each
 * a new update in a new chat (a deployment meets ever more senders), each round followed by
 * 10 s idle, with an echo core. After each round: the resident memory of each process
 * `wrangler dev` runs (its node process, its dev proxy, the workerd running Hearth's worker),
 * of the core, and, through workerd's inspector, the JS heap of the isolate that runs the edge's
 * worker and its Relay: what a Durable Object's memory limit counts in production. Something
 * kept per message or per chat grows round on round; garbage goes up and down.
 */
import { expectExactlyOnceInOrder } from '../support/exactly-once.js';
import { startSystem, type System, type TextUpdate } from '../support/system.js';
import { step } from './hostile-load.js';
import { commandOf, descendants, isolateHeap, rssMiB } from './process-memory.js';

export interface MemoryRound {
  round: number;
  /** Webhooks accepted so far, over all rounds. */
  accepted: number;
  /** MiB of the edge's isolate (worker + Relay): used (garbage included) and reserved. */
  heap: { used: number; total: number } | undefined;
  /** MiB resident, per role of a process under wrangler dev, and of the core. */
  rss: { wrangler: number; proxy: number; edge: number; core: number };
}

export interface MemoryResult {
  rate: number;
  seconds: number;
  rounds: MemoryRound[];
  exactlyOnce: string;
}

/** What each process under wrangler dev (`edgePids`) is: the workerd with an inspector runs the user's worker. */
async function rssByRole(system: System, edgePids: number[]): Promise<MemoryRound['rss']> {
  const rss = { wrangler: 0, proxy: 0, edge: 0, core: 0 };
  for (const pid of edgePids) {
    const command = await commandOf(pid);
    const role = !command.includes('workerd serve') ? 'wrangler' : command.includes('--inspector-addr') ? 'edge' : 'proxy';
    rss[role] += await rssMiB(pid);
  }
  for (const core of system.cores) rss.core += core.pid ? await rssMiB(core.pid) : 0;
  return rss;
}

export async function runMemoryRounds({ rounds, rate, seconds }: { rounds: number; rate: number; seconds: number }): Promise<MemoryResult> {
  const system = await startSystem({
    coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_SEQUENCES: '32' },
    edgeVars: { HEARTH_QUEUE_MAX: '300', HEARTH_LOG_LEVEL: 'warn', TELEGRAM_CHAT_INTERVAL_MS: '0', TELEGRAM_MAX_PER_SECOND: '1000' },
  });
  try {
    const accepted: TextUpdate[] = [];
    const result: MemoryResult = { rate, seconds, rounds: [], exactlyOnce: 'ok' };
    for (let round = 1; round <= rounds; round++) {
      await step(system, rate, seconds, accepted);
      await new Promise((r) => setTimeout(r, 10_000));
      // wrangler's node process and everything it started, read once a round.
      const wrangler = system.edge.child.pid;
      const pids = wrangler ? [wrangler, ...(await descendants(wrangler))] : [];
      // The inspector may not answer while the isolate is still busy with the round: ask again.
      let heap: MemoryRound['heap'];
      for (let attempt = 0; attempt < 3 && !heap; attempt++) heap = await isolateHeap(pids, 'core:user:').catch(() => undefined);
      const entry = { round, accepted: accepted.length, heap, rss: await rssByRole(system, pids) };
      result.rounds.push(entry);
      const r = entry.rss;
      console.log(
        `  round ${round}: accepted ${entry.accepted}, edge heap ${heap ? `${heap.used.toFixed(1)} of ${heap.total.toFixed(1)}` : '?'} MiB; RSS edge ${r.edge.toFixed(0)}, proxy ${r.proxy.toFixed(0)}, wrangler ${r.wrangler.toFixed(0)}, core ${r.core.toFixed(0)} MiB`,
      );
    }
    await expectExactlyOnceInOrder(system, accepted, 300_000).catch((error: unknown) => {
      result.exactlyOnce = error instanceof Error ? error.message : String(error);
    });
    return result;
  } finally {
    await system.stop();
  }
}
