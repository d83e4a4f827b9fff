/**
 * `npm run bench:plugins` (and its short form in CI, `-- --short`): what the plugin sandbox costs,
 * beside a baseline measured in the same run.
 *
 * - The sandbox: a plugin host process as the core runs it (PluginProcess: bubblewrap where it
 *   works, Node's permission model, the plugin's code in QuickJS compiled to WebAssembly).
 * - The baseline, the previous sandbox's mechanism: a Node child under the permission model that
 *   imports the same handler module natively and answers the same IPC messages (what
 *   plugin-runtime/runner.mjs did, without its lockdown).
 *
 * Reported: the round trip of one call from the core (p50, p99, calls made one after another),
 * the ratio of the medians, and the resident memory of one loaded plugin (its whole process tree).
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, namespaceSupport, PluginProcess } from '@hearth/core';
import { descendants, rssMiB } from './process-memory.js';
import { percentile } from './stats.js';

const SHORT = process.argv.includes('--short');
const ROUNDS = SHORT ? 50 : 1_000;
const WARMUP = SHORT ? 10 : 100;
const HANDLER = `export default { commands: { echo: async (args) => ({ echoed: args, at: Date.now() }) } };`;
const CONTEXT = { conversationId: 'telegram:1', senderId: 'telegram:1', trigger: 'bench' };

/** Resident memory of a process and everything under it. */
async function treeMiB(pid: number): Promise<number> {
  let total = await rssMiB(pid);
  for (const child of await descendants(pid)) total += await rssMiB(child);
  return total;
}

async function timeCalls(call: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await call(i);
  const samples: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await call(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

async function sandboxed(dir: string) {
  const namespaces = namespaceSupport();
  const plugin = new PluginProcess({
    code: { name: 'bench', entry: 'handler.mjs', files: { 'handler.mjs': HANDLER }, secrets: {}, data: false, memoryMb: 64, idleCpuMs: 100 },
    namespaces: namespaces.ok ? namespaces : undefined,
    timeoutMs: 10_000,
    stderrPath: join(dir, 'sandbox.stderr'),
    services: { fetch: async () => null, push: async () => null, data: async () => null },
    log: createLogger('silent'),
  });
  const startedAt = performance.now();
  await plugin.start();
  const startMs = performance.now() - startedAt;
  const samples = await timeCalls((i) => plugin.call('command', 'echo', `hello ${i}`, CONTEXT));
  const memory = await treeMiB(plugin.pid as number);
  await plugin.dispose();
  return { samples, memory, startMs, namespaces: namespaces.ok };
}

/** The previous sandbox's shape: node + permission model, the handler imported natively, IPC. */
const RUNNER = `
const [handlerPath] = process.argv.slice(2);
const plugin = (await import(handlerPath)).default;
process.on('message', async (m) => {
  if (m.type !== 'call') return;
  try { process.send({ type: 'result', id: m.id, value: await plugin.commands[m.name](m.args, m.context) }); }
  catch (e) { process.send({ type: 'error', id: m.id, message: String(e) }); }
});
process.send({ type: 'ready' });
`;

async function childProcess(dir: string) {
  await writeFile(join(dir, 'handler.mjs'), HANDLER);
  await writeFile(join(dir, 'runner.mjs'), RUNNER);
  const permission = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';
  const startedAt = performance.now();
  const child = fork(join(dir, 'runner.mjs'), [join(dir, 'handler.mjs')], {
    execArgv: [permission, `--allow-fs-read=${dir}`, '--no-addons', '--max-old-space-size=64', '--no-warnings'],
    env: {},
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
  });
  const waiting = new Map<string, (value: unknown) => void>();
  await new Promise<void>((ready) =>
    child.on('message', (message: { type: string; id?: string; value?: unknown }) => {
      if (message.type === 'ready') ready();
      else if (message.id) waiting.get(message.id)?.(message.value);
    }),
  );
  const startMs = performance.now() - startedAt;
  let next = 0;
  const samples = await timeCalls(
    (i) =>
      new Promise((resolve) => {
        const id = `c${next++}`;
        waiting.set(id, resolve);
        child.send({ type: 'call', id, kind: 'command', name: 'echo', args: `hello ${i}`, context: CONTEXT });
      }),
  );
  const memory = await treeMiB(child.pid as number);
  child.kill('SIGKILL');
  return { samples, memory, startMs };
}

const dir = await mkdtemp(join(tmpdir(), 'hearth-bench-plugins-'));
try {
  const baseline = await childProcess(dir);
  const sandbox = await sandboxed(dir);
  const row = (name: string, r: { samples: number[]; memory: number; startMs: number }) =>
    `| ${name} | ${percentile(r.samples, 50).toFixed(3)} | ${percentile(r.samples, 99).toFixed(3)} | ${r.startMs.toFixed(0)} | ${r.memory.toFixed(1)} |`;
  const report = [
    `Plugin sandbox, ${ROUNDS} calls one after another (after ${WARMUP} to warm up), Node ${process.version}, namespaces: ${sandbox.namespaces ? 'yes (bubblewrap)' : 'no'}`,
    '',
    '| plugin host | call p50 (ms) | call p99 (ms) | start (ms) | resident memory of one plugin (MiB) |',
    '| --- | --- | --- | --- | --- |',
    row('child process, handler in Node (previous sandbox, baseline)', baseline),
    row('QuickJS in a host process (this sandbox)', sandbox),
    '',
    `Call p50: ${(percentile(sandbox.samples, 50) / percentile(baseline.samples, 50)).toFixed(2)}x the baseline; memory per plugin ${(sandbox.memory / baseline.memory).toFixed(2)}x.`,
  ].join('\n');
  console.log(report);
  // The full run is the one kept; the short form (CI) only shows every figure is produced.
  if (!SHORT) await writeFile(new URL('./reports/plugins.md', import.meta.url), `# npm run bench:plugins (${new Date().toISOString().slice(0, 10)})\n\n${report}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
