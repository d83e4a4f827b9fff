import { HearthError } from '@hearth/shared';

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

/** Resolves on the first SIGINT or SIGTERM, for long-running commands. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
