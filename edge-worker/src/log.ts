import { pseudonymizer, randomLogKey } from '@hearth/shared';

/**
 * One JSON object per line on the console: what Workers Logs index. Fields carry ids and
 * reasons, never message text, so logs hold no conversation content; WhatsApp ids (phone
 * numbers) appear as keyed pseudonyms.
 *
 * @example
 * log('warn', 'webhook_rejected', { platform: 'telegram', reason: 'bad_secret' });
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
let threshold = RANK.info;

// Until the configuration is read: a key nobody has, so nothing readable is logged meanwhile.
// Made on first use: workerd refuses random values in the global scope.
let pseudonymize: ((text: string) => string) | undefined;

/**
 * Set once the configuration is read: lines below `level` are dropped (HEARTH_LOG_LEVEL), and
 * WhatsApp ids become pseudonyms under `key`.
 */
export function configureLog(level: LogLevel, key: Uint8Array | undefined): void {
  threshold = RANK[level];
  if (key) pseudonymize = pseudonymizer(key);
}

export function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (RANK[level] < threshold) return;
  pseudonymize ??= pseudonymizer(randomLogKey());
  const line = pseudonymize(JSON.stringify({ level, event, time: new Date().toISOString(), ...fields }));
  if (level === 'error') console.error(line);
  else if (level === 'warn') console.warn(line);
  else console.log(line);
}

/** The message of an unknown thrown value, for log fields. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
