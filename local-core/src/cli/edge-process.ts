import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnNodeGroup } from './process-group.js';

/** The edge worker's folder in this repository (local-core/dist/cli → edge-worker). */
export const EDGE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../edge-worker');

export interface EdgeProcessOptions {
  port: number;
  /** Settings for the worker, passed as `--var` (they override wrangler.jsonc and .dev.vars). */
  vars: Record<string, string>;
  /** Where workerd keeps Durable Object state between runs (relative: to this process' working folder). */
  persistTo: string;
  /** Receives each line wrangler prints. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface EdgeProcess extends AsyncDisposable {
  readonly url: string;
  /** wrangler's node process, leader of the edge's process group. */
  readonly child: ChildProcess;
  /** Stops wrangler and its workerd processes with `signal` (SIGKILL: as in a crash). Idempotent. */
  dispose(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs the real edge worker under workerd with `wrangler dev`, on loopback, and resolves once
 * it answers `/healthz`. Used by `hearth dev` and by the end-to-end tests alike.
 */
export async function startEdgeProcess(options: EdgeProcessOptions): Promise<EdgeProcess> {
  const wrangler = createRequire(join(EDGE_DIR, 'package.json')).resolve('wrangler/bin/wrangler.js');
  const args = [
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--inspector-port',
    '0',
    '--persist-to',
    // From here, not from wrangler's folder: `.hearth/edge-state` is beside the core's `.hearth/`.
    resolve(options.persistTo),
    '--show-interactive-dev-session=false',
    ...Object.entries(options.vars).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
  ];
  const group = spawnNodeGroup(wrangler, args, {
    cwd: EDGE_DIR,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_UPDATE_NOTIFIER: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { child } = group;
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
  const url = `http://127.0.0.1:${options.port}`;

  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`wrangler dev exited with ${child.signalCode ?? `code ${child.exitCode}`} before the edge was up${lastErrors.length > 0 ? `:\n${lastErrors.join('\n')}` : ''}`);
    }
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await group.dispose('SIGKILL');
      throw new Error(`the edge did not answer ${url}/healthz within 90 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { url, child, dispose: group.dispose, [Symbol.asyncDispose]: () => group.dispose() };
}
