import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The core's structured logger (JSON lines on stderr, so stdout stays free for command
 * output such as `hearth keygen`). Fields carry ids, never message text.
 */
export function createLogger(level: string, name = 'hearth-core'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
