import type { Command } from 'commander';
import { loadCoreConfig, type CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { checkEdge, checkGpu, checkKey, checkModel, checkNode, checkPluginSandbox, checkRedis, checkTunnel } from './doctor-checks.js';
import { fail, formatChecks, ok, type CheckResult } from './doctor-report.js';
import { checkMcpServers } from '../mcp/probe.js';
import { runCommand } from './run.js';

/** Runs one step of the checks, showing what it is doing meanwhile. */
export type Progress = <T>(label: string, work: () => Promise<T>) => Promise<T>;

const quietly: Progress = (_label, work) => work();

/** How many steps `runDoctor` reports through `progress`, for a count beside the spinner. */
const DOCTOR_STEPS = 6;

/**
 * `hearth doctor`: every check, in the order a set-up depends on them (settings, key and model
 * at home, then the edge, its clock and whether it accepts the key). A check that cannot run
 * because an earlier one failed says so as a warning; the earlier failure carries the fix.
 *
 * @example
 * const results = await runDoctor(process.env);
 * if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
 */
async function runDoctor(env: NodeJS.ProcessEnv, progress: Progress = quietly): Promise<CheckResult[]> {
  const results: CheckResult[] = [checkNode()];
  let config: CoreConfig;
  try {
    config = loadCoreConfig(env);
    results.push(ok('settings', 'settings', 'the core settings are valid (environment and .env)'));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    results.push(fail('settings', 'settings', error.message.split('\n').join('; '), 'correct the variables named, in .env or the environment'));
    return results;
  }
  if (config.plugins) results.push(checkPluginSandbox(config.plugins));
  const key = await progress('reading the core key', () => checkKey(config.keyFile));
  results.push(key.result);
  results.push(await progress('looking for the model', () => checkModel(config)));
  results.push(await progress('loading llama.cpp to see which GPU backend it picks', () => checkGpu(config)));
  results.push(await progress('pinging Redis', () => checkRedis(config)));
  const { mcp } = config;
  if (mcp) results.push(await progress('connecting to the MCP servers', () => checkMcpServers(mcp, env)));
  const edge = await progress(`asking the edge at ${config.edgeUrl}`, () => checkEdge(config.edgeUrl));
  results.push(edge.edge, edge.clock);
  results.push(await progress('opening a tunnel with the core key', () => checkTunnel(config, key.keySet, edge.reachable)));
  return results;
}

/** A spinner with the step count, on a terminal's stderr; it erases itself when the step ends. */
function spinner(stream: NodeJS.WriteStream = process.stderr): Progress {
  const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  let step = 0;
  return async (label, work) => {
    step++;
    let frame = 0;
    const draw = () => stream.write(`\r${frames[frame++ % frames.length]} [${step}/${DOCTOR_STEPS}] ${label}…\x1b[K`);
    draw();
    const timer = setInterval(draw, 80);
    try {
      return await work();
    } finally {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    }
  };
}

/** Registers `hearth doctor`. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description('check Node.js and its security fixes, the plugin sandbox, the core key, the model, the GPU backend, Redis, the MCP servers, the edge, clock skew and the key at the edge; says how to fix what fails')
    .option('--json', 'print the checks as a JSON array for programs', false)
    .action((options: { json: boolean }) =>
      runCommand(async () => {
        const results = await runDoctor(process.env, process.stderr.isTTY && !options.json ? spinner() : quietly);
        process.stdout.write(options.json ? `${JSON.stringify(results, null, 2)}\n` : formatChecks(results));
        // Exit 1 when something must be fixed, so scripts and health checks can rely on it.
        if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
      }),
    );
}
