/**
 * `npm run bench:relay-profile -w @hearth/tests`: where the edge's CPU goes per message on the
 * Relay route, from a V8 CPU profile of the worker's isolate (workerd's inspector) while
 * conversations send at once through the edge bundle, a real core (echo engine) and the fake
 * Bot API, as in bench:relay. Prints self and inclusive time per function, in ms per message.
 * The profiler slows the isolate down: read the shares, not the absolute figures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import WebSocket from 'ws';
import { writeNewKeySet } from '@hearth/core';
import { publicKeySet } from '@hearth/shared';
import { FakeTelegramBotApi } from '../fakes/telegram-bot-api.js';
import { BOT_TOKEN, freePort, WEBHOOK_SECRET } from '../support/system.js';
import { latency, replyRoundTrip, throughput } from './round-trip.js';
import { bundleEdge, echoCore, startWorkerd } from './workerd.js';

const CHATS = 10;
const PER_CHAT = 30;
const MESSAGES = CHATS * PER_CHAT;
const EDGE_DIR = resolve(import.meta.dirname, '../../edge-worker');

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** A CDP session on one inspector target. */
async function inspect(url: string): Promise<{ call: <T>(method: string, params?: object) => Promise<T>; close: () => void }> {
  const ws = new WebSocket(url);
  await new Promise((resolveOpen, reject) => ws.once('open', resolveOpen).once('error', reject));
  const waiting = new Map<number, (result: unknown) => void>();
  ws.on('message', (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  let next = 0;
  return {
    call: <T>(method: string, params = {}) =>
      new Promise<T>((resolveCall) => {
        const id = ++next;
        waiting.set(id, (result) => resolveCall(result as T));
        ws.send(JSON.stringify({ id, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Self time per function, and inclusive time per function name (each counted once per stack). */
function tally(profile: Profile): { self: Map<string, number>; inclusive: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  profile.samples.forEach((sample, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = nodes.get(sample)?.callFrame;
    if (!frame) return;
    const key = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').pop() ?? ''}:${frame.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = sample; id !== undefined; id = parent.get(id)) {
      const name = nodes.get(id)?.callFrame.functionName || '(anonymous)';
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  });
  return { self, inclusive };
}

const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-profile-'));
const telegram = new FakeTelegramBotApi();
const keyFile = join(dir, 'core-key.json');
const keySet = await writeNewKeySet(keyFile);
const script = await bundleEdge(EDGE_DIR, join(dir, 'bundle'));
const inspectorPort = await freePort();
const edge = await startWorkerd(EDGE_DIR, await freePort(), {
  inspectorPort,
  modules: true,
  scriptPath: script,
  modulesRoot: dirname(script),
  compatibilityDate: '2026-04-20',
  bindings: {
    TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
    TELEGRAM_BOT_TOKEN: BOT_TOKEN,
    TELEGRAM_API_BASE: await telegram.start(),
    HEARTH_CORE_JWKS: JSON.stringify(publicKeySet(keySet)),
    HEARTH_ACCESS_POLICY: 'open',
    HEARTH_LOG_LEVEL: 'warn',
    TELEGRAM_CHAT_INTERVAL_MS: '0',
    TELEGRAM_MAX_PER_SECOND: '1000',
  },
  durableObjects: { RELAY: { className: 'Relay', useSQLite: true } },
});
const core = await echoCore(edge.url, keyFile, 'bench-profile', join(dir, 'core'));
try {
  await core.waitForLog((line) => line.msg === 'tunnel connected');
  const send = replyRoundTrip(`${edge.url}/webhooks/telegram`, telegram);
  await latency(send, 20);
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as { id: string; webSocketDebuggerUrl: string }[];
  // `core:user:` is the user's worker, its Durable Objects included.
  const target = targets.find((t) => t.id.startsWith('core:user:'));
  if (!target) throw new Error('no inspector target for the worker');
  const cdp = await inspect(target.webSocketDebuggerUrl);
  await cdp.call('Profiler.enable');
  await cdp.call('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.call('Profiler.start');
  await throughput(send, CHATS, PER_CHAT);
  const { profile } = await cdp.call<{ profile: Profile }>('Profiler.stop');
  cdp.close();
  const { self, inclusive } = tally(profile);
  const perMessage = (us: number) => `${(us / 1000 / MESSAGES).toFixed(3)} ms/msg`;
  const top = (map: Map<string, number>, n: number) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n);
  console.log(`Relay route, ${MESSAGES} messages over ${CHATS} conversations; ${perMessage(profile.timeDeltas.reduce((a, b) => a + b, 0))} sampled`);
  console.log('\nself time (idle and program are the isolate waiting or outside JS):');
  for (const [name, us] of top(self, 25)) console.log(`  ${perMessage(us).padStart(14)}  ${name}`);
  console.log('\ninclusive time:');
  for (const [name, us] of top(inclusive, 40)) console.log(`  ${perMessage(us).padStart(14)}  ${name}`);
} finally {
  await core.stop();
  await edge.stop();
  await telegram.stop();
  await rm(dir, { recursive: true, force: true });
}
