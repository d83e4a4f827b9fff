import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { HearthError } from '@hearth/shared';
import { Lifecycle, StoppedError } from '../lifecycle.js';
import type { Logger } from '../logger.js';

/**
 * Runs a command's body and turns known failures into a clear message and exit code 1
 * instead of a stack trace: configuration errors are the user's to fix, and say how.
 */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof HearthError) {
      process.stderr.write(`hearth: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

/** What ends a long-running command: Ctrl-C, a supervisor's stop, a closed terminal. */
const ENDING_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
/**
 * `npm start` passes on the signal its process group already sent us: a second one this soon
 * is the same stop. One later (an impatient second Ctrl-C) exits at once.
 */
const SAME_STOP_MS = 1_000;

/**
 * Resolves on the first SIGINT, SIGTERM or SIGHUP, for long-running commands. The handlers stay:
 * no later signal can kill the process without its exit hooks (which stop its children).
 * `withParent`: also once the process that started this one is gone (what `npm start` runs
 * must not outlive an npm killed outright).
 */
export function untilSignal({ withParent = false }: { withParent?: boolean } = {}): Promise<NodeJS.Signals | 'parent gone'> {
  return new Promise((resolve) => {
    let first: number | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === undefined) {
        first = Date.now();
        resolve(signal);
      } else if (Date.now() - first > SAME_STOP_MS) {
        process.exit(128 + (constants.signals[signal] ?? 0));
      }
    };
    for (const signal of ENDING_SIGNALS) process.on(signal, onSignal);
    if (!withParent) return;
    const parent = process.ppid;
    const leader = processGroup();
    const watch = setInterval(() => {
      // npm runs us through `sh -c`: npm killed outright leaves the shell, but not the group npm led.
      if (process.ppid === parent && (leader === undefined || leader === process.pid || exists(leader))) return;
      clearInterval(watch);
      first ??= Date.now();
      resolve('parent gone');
    }, 250);
    watch.unref();
  });
}

/** This process' group, from /proc (Linux); undefined elsewhere. */
function processGroup(): number | undefined {
  try {
    // After the command (in parentheses, maybe with spaces): state, ppid, pgrp.
    const pgrp = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[2]);
    return Number.isInteger(pgrp) ? pgrp : undefined;
  } catch {
    return undefined;
  }
}

function exists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs a long-running command: `start` registers each part on `parts` as it starts; the first
 * signal (during the start too; `withParent`: or the parent's end) disposes them, last started
 * first. A failed start disposes what started, then throws.
 *
 * @example
 * await runUntilSignal(log, async (parts) => void parts.use('core', await startCore(config, log)));
 */
export async function runUntilSignal(log: Logger, start: (parts: Lifecycle) => Promise<void>, options: { withParent?: boolean } = {}): Promise<void> {
  const parts = new Lifecycle(log);
  let signalled = false;
  const stopped = untilSignal(options).then(async (signal) => {
    signalled = true;
    log.info({ signal }, 'shutting down');
    await parts.dispose();
  });
  try {
    await start(parts);
  } catch (error) {
    await parts.dispose();
    if (signalled && error instanceof StoppedError) return;
    throw error;
  }
  await stopped;
}
