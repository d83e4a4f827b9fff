import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Plain JS (the child reads it, it cannot compile), beside bin/hearth.js. */
const WATCHDOG = fileURLToPath(new URL('../../bin/parent-watchdog.mjs', import.meta.url));

export interface NodeGroupOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
}

/** A Node script in a process group of its own, with all it starts; none of it outlives this process. */
export interface NodeGroup extends AsyncDisposable {
  readonly child: ChildProcess;
  /** The script's exit code (null when a signal ended it), once it exited. */
  readonly exited: Promise<number | null>;
  /**
   * Sends `signal` to the whole group, waits for the script to exit (SIGKILL after 5 s), then
   * kills what is left of the group. Idempotent.
   */
  dispose(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Runs `node script ...args` as the leader of a new process group, so that it and what it
 * starts (wrangler and its workerd processes) are stopped together, and none is left behind:
 * - when the script exits, the rest of its group is killed (workerd outlives a wrangler that dies);
 * - when this process exits (`process.exit`, an uncaught error), the group is killed;
 * - when this process dies without running exit hooks (SIGKILL, a signal without a handler),
 *   the watchdog preloaded into the script kills the group.
 * Its own group also keeps a terminal's Ctrl-C from reaching it before this process has
 * stopped what depends on it.
 */
export function spawnNodeGroup(script: string, args: string[], options: NodeGroupOptions = {}): NodeGroup {
  const child = spawn(process.execPath, ['--import', WATCHDOG, script, ...args], { ...options, detached: true });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.once('exit', onExit);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => {
    process.off('exit', onExit);
    killGroup('SIGKILL');
  });
  let disposing: Promise<void> | undefined;
  const dispose = (signal: NodeJS.Signals = 'SIGTERM') => {
    disposing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(signal);
        const killer = setTimeout(() => killGroup('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      killGroup('SIGKILL');
    })();
    return disposing;
  };
  return { child, exited, dispose, [Symbol.asyncDispose]: () => dispose() };
}
