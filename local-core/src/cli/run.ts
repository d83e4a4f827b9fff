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
 */
export function untilSignal(): Promise<NodeJS.Signals> {
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
  });
}

/**
 * Runs a long-running command: `start` registers each part on `parts` as it starts; the first
 * signal (during the start too) disposes them, last started first. A failed start disposes what
 * started, then throws.
 *
 * @example
 * await runUntilSignal(log, async (parts) => void parts.use('core', await startCore(config, log)));
 */
export async function runUntilSignal(log: Logger, start: (parts: Lifecycle) => Promise<void>): Promise<void> {
  const parts = new Lifecycle(log);
  let signalled = false;
  const stopped = untilSignal().then(async (signal) => {
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
