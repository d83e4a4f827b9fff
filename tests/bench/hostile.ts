/**
 * `npm run bench:hostile`: Hearth in a hostile world, with every figure written to
 * tests/bench/reports/hostile.md.
 *
 * 1. The fuzz suites (edge in workerd, core tunnel frames) with HEARTH_FUZZ_RUNS (default 2000,
 *    ten times what `npm test` runs), counting the inputs each property tried.
 * 2. Load (hostile-load.ts): webhooks at increasing rates; the knee where p99 passes 1 s, the
 *    503s beyond it, exactly one reply per accepted update, memory of workerd and the core.
 * 3. Soak (hostile-soak.ts): HEARTH_SOAK_SECONDS (default 600) of mixed traffic with core kills
 *    and tunnel drops; exactly one reply per accepted message.
 * 4. Memory (hostile-memory.ts): HOSTILE_MEMORY_ROUNDS (default 8) rounds of webhooks from new
 *    chats; per round, the edge isolate's JS heap and each process's resident memory.
 *
 * HOSTILE_SKIP=fuzz,load,soak,memory skips parts; HOSTILE_RATES (comma-separated) and
 * HOSTILE_STEP_SECONDS shape the load; HOSTILE_QUEUE_MAX is the edge's HEARTH_QUEUE_MAX there.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { runLoad, type LoadResult } from './hostile-load.js';
import { runMemoryRounds, type MemoryResult } from './hostile-memory.js';
import { runSoak, type SoakResult } from './hostile-soak.js';

const ROOT = resolve(import.meta.dirname, '../..');
const skip = new Set((process.env.HOSTILE_SKIP ?? '').split(',').filter(Boolean));
const fuzzRuns = Number(process.env.HEARTH_FUZZ_RUNS ?? 2000);
const soakSeconds = Number(process.env.HEARTH_SOAK_SECONDS ?? 600);
const rates = (process.env.HOSTILE_RATES ?? '50,100,200,300,400,600,800').split(',').map(Number);
const stepSeconds = Number(process.env.HOSTILE_STEP_SECONDS ?? 5);
const queueMax = Number(process.env.HOSTILE_QUEUE_MAX ?? 300);
const memoryRounds = Number(process.env.HOSTILE_MEMORY_ROUNDS ?? 8);

interface FuzzSuite {
  name: string;
  ok: boolean;
  seconds: number;
  tests: string;
  runs: { property: string; runs: number }[];
  seed: string;
}

/** Runs one vitest invocation with HEARTH_FUZZ_RUNS, collecting the `fuzz_runs` lines the properties print. */
function runFuzz(name: string, cwd: string, args: string[]): Promise<FuzzSuite> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn('npx', ['vitest', 'run', ...args], { cwd, env: { ...process.env, HEARTH_FUZZ_RUNS: String(fuzzRuns) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colours
      const plain = output.replace(/\u001b\[[0-9;]*m/g, '');
      const runs = [...plain.matchAll(/fuzz_runs (\S+) (\d+) seed=(\d+)/g)].map((m) => ({ property: m[1] ?? '', runs: Number(m[2]) }));
      const seed = /fuzz_runs \S+ \d+ seed=(\d+)/.exec(plain)?.[1] ?? '?';
      const tests = /Tests\s+(.+)/.exec(plain)?.[1]?.trim() ?? 'no summary';
      if (code !== 0) console.log(plain.split('\n').filter((l) => /FAIL|×|Counterexample|Got |AssertionError|timed out/.test(l)).slice(0, 40).join('\n'));
      done({ name, ok: code === 0, seconds: (Date.now() - started) / 1000, tests, runs, seed });
    });
  });
}

const mib = (n: number) => `${n.toFixed(0)} MiB`;

function report(parts: { fuzz: FuzzSuite[]; load?: LoadResult; soak?: SoakResult; memory?: MemoryResult; seconds: number }): string {
  const out: string[] = [];
  out.push('# Hearth in a hostile world: bench report', '');
  out.push(`Written by \`npm run bench:hostile\` on ${new Date().toISOString()}.`, '');
  out.push(`Machine: ${cpus().length} CPU cores (\`nproc\`) ${cpus()[0]?.model ?? ''}, ${mib(totalmem() / 2 ** 20)} RAM, ${process.platform}/${process.arch}, Node ${process.version}. Whole run: ${(parts.seconds / 60).toFixed(1)} min.`, '');

  out.push('## 1. Fuzzing', '');
  if (parts.fuzz.length === 0) out.push('Skipped.', '');
  else {
    out.push(`HEARTH_FUZZ_RUNS=${fuzzRuns} (each property runs its \`npm test\` count × ${fuzzRuns / 200}); seeds are printed, a failure replays with HEARTH_FUZZ_SEED.`, '');
    out.push('| suite | result | tests | time | seed |', '|---|---|---|---|---|');
    for (const s of parts.fuzz) out.push(`| ${s.name} | ${s.ok ? 'pass' : '**FAIL**'} | ${s.tests} | ${s.seconds.toFixed(0)} s | ${s.seed} |`);
    out.push('', '| property | inputs tried |', '|---|---|');
    for (const s of parts.fuzz) for (const r of s.runs) out.push(`| ${r.property} | ${r.runs} |`);
    out.push(`| **total** | **${parts.fuzz.flatMap((s) => s.runs).reduce((sum, r) => sum + r.runs, 0)}** |`, '');
  }

  out.push('## 2. Load: Telegram webhooks at increasing rates (echo engine)', '');
  const load = parts.load;
  if (!load) out.push('Skipped.', '');
  else {
    out.push(
      `autocannon on loopback, ${stepSeconds} s per step, a new update in a new chat per request; the real edge (wrangler dev, workerd) and one real core (HEARTH_ENGINE=echo, HEARTH_SEQUENCES=32). HEARTH_QUEUE_MAX=${load.queueMax} (a backlog the core drains in about a second here; the default, 10,000, would let a burst queue for tens of seconds before shedding). Latency is the webhook's answer (the 200 comes once the message is committed in the Relay).`,
      '',
    );
    out.push('| offered /s | achieved /s | requests | p50 ms | p99 ms | statuses | 503 without Retry-After | connection errors | timeouts |', '|---|---|---|---|---|---|---|---|---|');
    for (const s of load.steps) {
      out.push(`| ${s.offered} | ${s.achieved.toFixed(0)} | ${s.requests} | ${s.p50.toFixed(0)} | ${s.p99.toFixed(0)} | ${Object.entries(s.statuses).map(([k, v]) => `${k}: ${v}`).join(', ')} | ${s.retryAfterMissing} | ${s.errors} | ${s.timeouts} |`);
    }
    const fivexx = load.steps.flatMap((s) => Object.entries(s.statuses)).filter(([k]) => k.startsWith('5') && k !== '503').reduce((n, [, v]) => n + v, 0);
    const shed = load.steps.reduce((n, s) => n + (s.statuses['503'] ?? 0), 0);
    out.push('');
    out.push(`- Knee (first offered rate with p99 > 1 s): **${load.knee ?? 'not reached'}${load.knee ? '/s' : ''}**.`);
    out.push(`- Shed with 503 + Retry-After: ${shed}; 5xx other than 503: ${fivexx}; connection errors: ${load.steps.reduce((n, s) => n + s.errors, 0)}.`);
    out.push(`- Accepted (200): ${load.accepted}; exactly one reply each, checked at the fake Bot API: **${load.exactlyOnce === 'ok' ? 'yes' : `NO: ${load.exactlyOnce}`}**.`);
    out.push(`- RSS of all wrangler dev runs (its node process, dev proxy and the edge's workerd; part 4 tells them apart): start ${mib(load.memory.workerd.start)}, peak ${mib(load.memory.workerd.peak)}, end ${mib(load.memory.workerd.end)}; core: start ${mib(load.memory.core.start)}, peak ${mib(load.memory.core.peak)}, end ${mib(load.memory.core.end)}.`, '');
  }

  out.push('## 3. Soak: mixed traffic with core kills and tunnel drops', '');
  const soak = parts.soak;
  if (!soak) out.push('Skipped.', '');
  else {
    out.push(
      `${soak.seconds} s (HEARTH_SOAK_SECONDS), one message every 100 ms (70% Telegram, 20% WhatsApp, 10% client API) over 40 chats, one fault every 20 s in turn: core SIGKILL + restart, tunnel blackholed (silent, no close), tunnel reset (TCP proxy closes it). Echo engine with 20 ms per reply; heartbeat 2 s.`,
      '',
    );
    out.push('| | Telegram | WhatsApp | API |', '|---|---|---|---|');
    out.push(`| sent | ${soak.sent.telegram} | ${soak.sent.whatsapp} | ${soak.sent.api} |`);
    out.push(`| accepted | ${soak.accepted.telegram} | ${soak.accepted.whatsapp} | ${soak.accepted.api} |`, '');
    out.push(`- Faults: ${soak.faults.coreKills} core kills, ${soak.faults.blackholes} blackholes, ${soak.faults.resets} resets.`);
    out.push(`- 503s retried (as the platform would): ${soak.retried503}; refused otherwise: ${JSON.stringify(soak.refused)}.`);
    out.push(`- Every accepted message answered exactly once: **${soak.problems.length === 0 ? 'yes' : `NO (${soak.problems.length} problems)`}**.`);
    for (const p of soak.problems.slice(0, 20)) out.push(`  - ${p.split('\n').slice(0, 5).join(' / ')}`);
    out.push(`- RSS, workerd: start ${mib(soak.memory.workerd.start)}, peak ${mib(soak.memory.workerd.peak)}, end ${mib(soak.memory.workerd.end)}; core (the current one): start ${mib(soak.memory.core.start)}, peak ${mib(soak.memory.core.peak)}, end ${mib(soak.memory.core.end)}.`, '');
  }

  out.push('## 4. Memory over repeated load', '');
  const memory = parts.memory;
  if (!memory) out.push('Skipped.', '');
  else out.push(...memorySection(memory));
  return out.join('\n');
}

/** Part 4 of the report: per round, the edge isolate's heap and each process's RSS, and the trend. */
function memorySection(memory: MemoryResult): string[] {
  const out = [
    `${memory.rounds.length} rounds of ${memory.rate} webhooks/s for ${memory.seconds} s (each a new chat), 10 s idle after each, echo core. "Edge heap": the JS heap of the workerd isolate running the edge's worker and its Relay (workerd's inspector, \`Runtime.getHeapUsage\`; used includes uncollected garbage). RSS per process under \`wrangler dev\`: the workerd running the edge, wrangler's dev proxy (another workerd), wrangler's node process; none but the first exists in production.`,
    '',
    '| round | accepted so far | edge heap used MiB | edge heap reserved MiB | RSS edge workerd | RSS dev proxy | RSS wrangler (node) | RSS core |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const r of memory.rounds) {
    out.push(`| ${r.round} | ${r.accepted} | ${r.heap?.used.toFixed(1) ?? '?'} | ${r.heap?.total.toFixed(1) ?? '?'} | ${mib(r.rss.edge)} | ${mib(r.rss.proxy)} | ${mib(r.rss.wrangler)} | ${mib(r.rss.core)} |`);
  }
  // A leak shows as a later half above the first; garbage averages out.
  const half = Math.floor(memory.rounds.length / 2);
  const mean = (rounds: MemoryResult['rounds'], value: (r: MemoryResult['rounds'][number]) => number | undefined) => {
    const values = rounds.map(value).filter((v): v is number => v !== undefined);
    return values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
  };
  const [first, second] = [memory.rounds.slice(0, half), memory.rounds.slice(half)];
  out.push(
    '',
    `- Edge heap used, mean of rounds 1-${half} vs ${half + 1}-${memory.rounds.length}: **${mean(first, (r) => r.heap?.used).toFixed(1)} vs ${mean(second, (r) => r.heap?.used).toFixed(1)} MiB** (ratio ${(mean(second, (r) => r.heap?.used) / mean(first, (r) => r.heap?.used)).toFixed(2)}); RSS of the edge's workerd ${mean(first, (r) => r.rss.edge).toFixed(0)} vs ${mean(second, (r) => r.rss.edge).toFixed(0)} MiB.`,
    `- Every accepted webhook answered exactly once: **${memory.exactlyOnce === 'ok' ? 'yes' : `NO: ${memory.exactlyOnce}`}**.`,
    '',
  );
  return out;
}

const started = Date.now();
const fuzz: FuzzSuite[] = [];
if (!skip.has('fuzz')) {
  console.log(`1. fuzz suites, HEARTH_FUZZ_RUNS=${fuzzRuns}`);
  fuzz.push(await runFuzz('edge (workerd)', join(ROOT, 'edge-worker'), ['--project', 'edge', 'test/fuzz-']));
  fuzz.push(await runFuzz('core (tunnel frames)', join(ROOT, 'local-core'), ['test/tunnel/fuzz-']));
  for (const s of fuzz) console.log(`   ${s.name}: ${s.ok ? 'pass' : 'FAIL'} (${s.tests}), ${s.runs.reduce((n, r) => n + r.runs, 0)} inputs, ${s.seconds.toFixed(0)} s`);
}
let load: LoadResult | undefined;
if (!skip.has('load')) {
  console.log(`2. load: ${rates.join(', ')} /s, ${stepSeconds} s each`);
  load = await runLoad({ rates, seconds: stepSeconds, queueMax });
}
let soak: SoakResult | undefined;
if (!skip.has('soak')) {
  console.log(`3. soak: ${soakSeconds} s`);
  soak = await runSoak(soakSeconds);
  console.log(`   accepted ${JSON.stringify(soak.accepted)}, faults ${JSON.stringify(soak.faults)}, problems ${soak.problems.length}`);
}
let memory: MemoryResult | undefined;
if (!skip.has('memory')) {
  console.log(`4. memory: ${memoryRounds} rounds`);
  memory = await runMemoryRounds({ rounds: memoryRounds, rate: 150, seconds: 20 });
}
const text = report({ fuzz, load, soak, memory, seconds: (Date.now() - started) / 1000 });
const dir = join(import.meta.dirname, 'reports');
await mkdir(dir, { recursive: true });
await writeFile(join(dir, 'hostile.md'), `${text}\n`);
console.log(`\n${text}\nwritten to tests/bench/reports/hostile.md`);
const failed = fuzz.some((s) => !s.ok) || (load && load.exactlyOnce !== 'ok') || (soak && soak.problems.length > 0) || (memory && memory.exactlyOnce !== 'ok');
process.exit(failed ? 1 : 0);
