/**
 * One JSON object per line on the console: what Workers Logs index. Fields carry ids and
 * reasons, never message text, so logs hold no conversation content.
 *
 * @example
 * log('warn', 'webhook_rejected', { platform: 'telegram', reason: 'bad_secret' });
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ level, event, time: new Date().toISOString(), ...fields });
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** The message of an unknown thrown value, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
