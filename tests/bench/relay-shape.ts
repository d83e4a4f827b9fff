/**
 * `npm run bench:relay` (its short form in CI: `-- --short`): the delivery path in the shape it
 * runs in production, each figure beside baselines measured in the same run.
 *
 * - The edge as deployed: the bundle `wrangler deploy` uploads, served by workerd (Miniflare)
 *   with nothing in front; a real core (`hearth start`, echo engine); the fake Bot API.
 * - Baselines: the same worker answering straight from the webhook (`/diagnostics/direct`: no
 *   Relay, tunnel or core), and a bare worker that only inserts one row into a SQLite-backed
 *   Durable Object per request (what a durable queue costs at the least).
 * - With BENCH_BEFORE_EDGE=<another checkout's edge-worker/>, that edge's Relay too (before/after).
 *
 * Reported: latency p50/p99 (messages one after another), msg/s (conversations sending at once),
 * and CPU ms per message of the edge's workerd and of the core, from /proc over the burst.
 * Telegram's pacing is off (30 sends/s, 1/s per chat would be the whole result); logs at warn.
 * The short form checks every figure is produced, not how fast it is.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { writeNewKeySet } from '@hearth/core';
import { publicKeySet } from '@hearth/shared';
import { FakeTelegramBotApi } from '../fakes/telegram-bot-api.js';
import type { CoreProcess } from '../support/core-process.js';
import { BOT_TOKEN, freePort, WEBHOOK_SECRET } from '../support/system.js';
import { answerRoundTrip, latency, replyRoundTrip, throughput, type Send } from './round-trip.js';
import { percentile } from './stats.js';
import { BARE_INSERT_WORKER, bundleEdge, cpuMs, echoCore, startWorkerd, type Workerd } from './workerd.js';

const SHORT = process.argv.includes('--short');
const SAMPLES = SHORT ? 20 : 200;
const WARMUP = SHORT ? 5 : 20;
const CHATS = SHORT ? 5 : 50;
const PER_CHAT = SHORT ? 4 : 20;
const BEFORE = process.env.BENCH_BEFORE_EDGE;
const COMPATIBILITY_DATE = '2026-04-20';
const EDGE_DIR = resolve(import.meta.dirname, '../../edge-worker');

interface Figures {
  name: string;
  p50: number;
  p99: number;
  rate: number;
  edgeCpuMs: number;
  coreCpuMs: number | undefined;
}

const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-relay-'));
const telegram = new FakeTelegramBotApi();
const keyFile = join(dir, 'core-key.json');
const keySet = await writeNewKeySet(keyFile);
const vars = {
  TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
  TELEGRAM_BOT_TOKEN: BOT_TOKEN,
  TELEGRAM_API_BASE: await telegram.start(),
  HEARTH_CORE_JWKS: JSON.stringify(publicKeySet(keySet)),
  HEARTH_ACCESS_POLICY: 'open',
  HEARTH_DIAGNOSTICS: 'on',
  HEARTH_LOG_LEVEL: 'warn',
  TELEGRAM_CHAT_INTERVAL_MS: '0',
  TELEGRAM_GROUP_INTERVAL_MS: '0',
  TELEGRAM_MAX_PER_SECOND: '1000',
};

/** Latency, then throughput with the CPU the processes spent on it. */
async function measure(name: string, send: Send, pids: { edge: number; core?: number | undefined }): Promise<Figures> {
  await latency(send, WARMUP);
  const samples = await latency(send, SAMPLES);
  const cpu = async () => ({ edge: await cpuMs(pids.edge), core: pids.core === undefined ? undefined : await cpuMs(pids.core) });
  const before = await cpu();
  const rate = await throughput(send, CHATS, PER_CHAT);
  const after = await cpu();
  const messages = CHATS * PER_CHAT;
  return {
    name,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    rate,
    edgeCpuMs: (after.edge - before.edge) / messages,
    coreCpuMs: after.core === undefined || before.core === undefined ? undefined : (after.core - before.core) / messages,
  };
}

/** The edge of `edgeDir` bundled and served, a core connected to it; `body` measures, then both stop. */
async function withEdge<T>(edgeDir: string, label: string, body: (edge: Workerd, core: CoreProcess) => Promise<T>): Promise<T> {
  const script = await bundleEdge(edgeDir, join(dir, `bundle-${label}`));
  const edge = await startWorkerd(EDGE_DIR, await freePort(), {
    modules: true,
    scriptPath: script,
    // Module names are relative to this folder; the bundle's own.
    modulesRoot: dirname(script),
    compatibilityDate: COMPATIBILITY_DATE,
    bindings: vars,
    durableObjects: { RELAY: { className: 'Relay', useSQLite: true } },
  });
  const core = await echoCore(edge.url, keyFile, `bench-core-${label}`, join(dir, `core-${label}`));
  try {
    await core.waitForLog((line) => line.msg === 'tunnel connected');
    return await body(edge, core);
  } finally {
    await core.stop();
    await edge.stop();
  }
}

const figures: Figures[] = [];
try {
  await withEdge(EDGE_DIR, 'this', async (edge, core) => {
    figures.push(await measure('Relay (this tree)', replyRoundTrip(`${edge.url}/webhooks/telegram`, telegram), { edge: edge.pid, core: core.pid }));
    figures.push(await measure('direct (same worker, no Relay)', replyRoundTrip(`${edge.url}/diagnostics/direct/telegram`, telegram), { edge: edge.pid }));
  });
  if (BEFORE) {
    await withEdge(BEFORE, 'before', async (edge, core) => {
      figures.push(await measure('Relay (BENCH_BEFORE_EDGE)', replyRoundTrip(`${edge.url}/webhooks/telegram`, telegram), { edge: edge.pid, core: core.pid }));
    });
  }
  const bare = await startWorkerd(EDGE_DIR, await freePort(), {
    modules: true,
    script: BARE_INSERT_WORKER,
    compatibilityDate: COMPATIBILITY_DATE,
    durableObjects: { ROWS: { className: 'Rows', useSQLite: true } },
  });
  try {
    figures.push(await measure('bare insert (1 row in a SQLite DO)', answerRoundTrip(bare.url), { edge: bare.pid }));
  } finally {
    await bare.stop();
  }
} finally {
  await telegram.stop();
  await rm(dir, { recursive: true, force: true });
}

const [relay, direct] = figures;
const bareFigures = figures.find((f) => f.name.startsWith('bare'));
const ms = (n: number | undefined) => (n === undefined ? '-' : n.toFixed(n < 10 ? 2 : 1));
const rows = figures.map(
  (f) => `| ${f.name} | ${f.rate.toFixed(0)} | ${ms(f.p50)} | ${ms(f.p99)} | ${ms(f.edgeCpuMs)} | ${ms(f.coreCpuMs)} |`,
);
const ratios = relay && direct && bareFigures
  ? [
      `Relay msg/s ${(relay.rate / bareFigures.rate).toFixed(2)}x the bare insert, ${(relay.rate / direct.rate).toFixed(2)}x direct; ` +
        `p50 ${(relay.p50 / direct.p50).toFixed(2)}x direct; edge CPU per message ${bareFigures.edgeCpuMs > 0 ? `${(relay.edgeCpuMs / bareFigures.edgeCpuMs).toFixed(2)}x the bare insert` : 'against the bare insert: under one /proc tick for it in this run'}.`,
    ]
  : [];
const report = [
  `# npm run bench:relay (${new Date().toISOString().slice(0, 10)})`,
  '',
  `Edge bundle under workerd (Miniflare, no wrangler dev), core with the echo engine, fake Bot API, Node ${process.version}. ` +
    `Latency: ${SAMPLES} messages one after another (after ${WARMUP}); throughput and CPU: ${CHATS * PER_CHAT} messages, ${CHATS} conversations at once.`,
  '',
  '| route | msg/s | p50 (ms) | p99 (ms) | edge CPU ms/msg | core CPU ms/msg |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows,
  '',
  ...ratios,
].join('\n');
console.log(report);

// CPU comes from /proc in 10 ms ticks: a short run of a cheap route may read 0, which is still a reading.
const CPU_FIGURES = new Set(['edgeCpuMs', 'coreCpuMs']);
const produced = (key: string, value: unknown) => typeof value === 'number' && Number.isFinite(value) && (value > 0 || (CPU_FIGURES.has(key) && value === 0));
const missing = figures.flatMap((f) =>
  Object.entries(f)
    .filter(([key, value]) => key !== 'name' && value !== undefined && !produced(key, value))
    .map(([key]) => `${f.name}: ${key}`),
);
if (SHORT) {
  if (figures.length < 3 || missing.length > 0) {
    console.error(`bench:relay --short: figures missing: ${missing.join(', ') || `${figures.length} routes measured`}`);
    process.exit(1);
  }
  console.log('\nbench:relay --short: every figure produced');
} else {
  // Notes written by hand under the figures stay; the figures are this run's.
  const path = join(import.meta.dirname, 'reports', 'relay.md');
  const previous = await readFile(path, 'utf8').catch(() => '');
  const notes = previous.indexOf('\n## Notes');
  await writeFile(path, `${report}\n${notes >= 0 ? previous.slice(notes) : ''}`);
}
