import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The edge worker's folder in this repository (local-core/dist/cli → edge-worker). */
export const EDGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../edge-worker');

export interface EdgeProcessOptions {
  port: number;
  /** Settings for the worker, passed as `--var` (they override wrangler.jsonc and .dev.vars). */
  vars: Record<string, string>;
  /** Where workerd keeps Durable Object state between runs. */
  persistTo: string;
  /** Receives each line wrangler prints. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface EdgeProcess {
  readonly url: string;
  readonly child: ChildProcess;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the real edge worker under workerd with `wrangler dev`, on loopback, and resolves once
 * it answers `/healthz`. Used by `hearth dev` and by the end-to-end tests alike.
 */
export async function startEdgeProcess(options: EdgeProcessOptions): Promise<EdgeProcess> {
  const wrangler = createRequire(join(EDGE_DIR, 'package.json')).resolve('wrangler/bin/wrangler.js');
  const args = [
    wrangler,
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--inspector-port',
    '0',
    '--persist-to',
    options.persistTo,
    '--show-interactive-dev-session=false',
    ...Object.entries(options.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ];
  // Its own process group, so that stopping it also stops the workerd processes it starts,
  // which otherwise outlive a wrangler that dies.
  const child = spawn(process.execPath, args, {
    cwd: EDGE_DIR,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_UPDATE_NOTIFIER: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  // If this process ends without stopping the edge (a crash, a failed test), take it along.
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  // What wrangler last wrote on stderr: said when it exits before the edge is up (a port taken, a bad setting).
  const lastErrors: string[] = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    let buffered = '';
    child[stream]?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (stream === 'stderr' && line.trim()) {
          lastErrors.push(line);
          if (lastErrors.length > 15) lastErrors.shift();
        }
        options.onLine?.(line, stream);
      }
    });
  }
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  void exited.then(() => process.off('exit', onExit));
  const url = `http://127.0.0.1:${options.port}`;

  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) {
      killGroup(signal);
      const killer = setTimeout(() => killGroup('SIGKILL'), 5_000);
      await exited;
      clearTimeout(killer);
    }
    // workerd may linger after wrangler exits: end the rest of the group too.
    killGroup('SIGKILL');
  };

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`wrangler dev exited with code ${child.exitCode} before the edge was up${lastErrors.length > 0 ? `:\n${lastErrors.join('\n')}` : ''}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop('SIGKILL');
      throw new Error(`the edge did not answer ${url}/healthz within 90 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, stop };
}
