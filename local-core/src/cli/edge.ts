import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { EDGE_VARIABLES, parseEdgeConfig } from '@hearth/shared';
import { ConfigError } from '../errors.js';
import { EDGE_DIR, startEdgeProcess } from './edge-process.js';
import { createLogger } from '../logger.js';
import { runUntilSignal } from './run.js';

/**
 * The edge settings set on this machine, to pass on to workerd: each from the environment
 * (which .env filled), else from edge-worker/.dev.vars.
 */
export async function edgeVarsFromEnvironment(): Promise<Record<string, string>> {
  const devVars = parseEnv((await readFile(join(EDGE_DIR, '.dev.vars'), 'utf8').catch(() => '')) || '');
  const vars: Record<string, string> = {};
  for (const name of EDGE_VARIABLES) {
    const value = process.env[name] ?? devVars[name];
    if (value) vars[name] = value;
  }
  return vars;
}

/**
 * `hearth edge`: the edge alone under workerd, as `wrangler dev` would run it, after checking
 * its settings (environment, then .env, then edge-worker/.dev.vars) so that a missing secret
 * stops it here with the variable's name rather than answering 503 later.
 */
export async function runEdge(port: number): Promise<void> {
  const vars = await edgeVarsFromEnvironment();
  const checked = parseEdgeConfig(vars);
  if (!checked.ok) throw new ConfigError(`the edge cannot start:\n  ${checked.problems.join('\n  ')}`);

  await runUntilSignal(createLogger('info'), async (parts) => {
    const edge = parts.use(
      'edge',
      await startEdgeProcess({
        port,
        vars,
        persistTo: '.hearth/edge-state',
        onLine: (line, stream) => (stream === 'stderr' ? process.stderr : process.stdout).write(`${line}\n`),
      }),
    );
    process.stdout.write(`hearth edge listening on ${edge.url} (tunnel at ${edge.url}/tunnel)\n`);
  });
}
