/**
 * One JSON object per line on the console: what Workers Logs index. Fields carry ids and
 * reasons, never message text, so logs hold no conversation content.
 *
 * @example
 * log('warn', 'webhook_rejected', { platform: 'telegram', reason: 'bad_secret' });
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = RANK.info;

/** Lines below `level` are dropped (HEARTH_LOG_LEVEL; set once the configuration is read). */
export function setLogLevel(level: LogLevel): void {
  threshold = RANK[level];
}

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** The message of an unknown thrown value, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
