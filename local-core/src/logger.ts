import { readFileSync } from 'node:fs';
import { logKeyOf, pseudonymizer, randomLogKey, redact, redactValue } from '@hearth/shared';
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * One finished log line, redacted: every string (the message after `%s` interpolation, fields,
 * child bindings, serialized errors) through `redact`, and values under secret-named keys
 * (`token`, `password`, `authorization`, ...) replaced whole.
 */
function redactLine(line: string): string {
  try {
    return `${JSON.stringify(redactValue(JSON.parse(line)))}\n`;
  } catch {
    // pino writes one JSON object per line; should that ever change, still redact it as text
    // (replacements contain no quote, so the line stays as parseable as it was).
    return redact(line).text;
  }
}

/**
 * The key of the logs' WhatsApp pseudonyms: HEARTH_LOG_KEY (the same at the edge gives the same
 * pseudonyms at both ends), else one derived from the core's key file, else one for this process.
 */
export function logKeyFor(config: { logKey: string | undefined; keyFile: string }): Uint8Array {
  if (config.logKey) return logKeyOf(config.logKey);
  try {
    return logKeyOf(readFileSync(config.keyFile));
  } catch {
    return randomLogKey();
  }
}

/**
 * The core's structured logger (JSON lines on stderr, so stdout stays free for command
 * output such as `hearth keygen`). Fields carry ids, never message text; in case one slips
 * through, every line is redacted (cards, e-mail addresses, phones, IBANs, national ids,
 * tokens) before it is written, and WhatsApp ids (phone numbers) and e-mail senders become keyed pseudonyms.
 *
 * @param destination where lines go; default stderr (tests pass a capturing stream)
 * @example
 * const log = createLogger('info');
 * log.info({ messageId: 'telegram:42:7' }, 'delivery received');
 */
export function createLogger(
  level: string,
  name = 'hearth-core',
  destination: DestinationStream = pino.destination(2),
  pseudonymKey: Uint8Array = randomLogKey(),
): Logger {
  const pseudonymize = pseudonymizer(pseudonymKey);
  return pino(
    {
      name,
      level,
      base: { pid: process.pid },
      // The final line, rather than formatters and serializers: it is the one place that also
      // sees child bindings (pino does not pass those through formatters.bindings) and the
      // message after interpolation.
      // Pseudonyms first: an e-mail sender (`email:ada@…`) is an id to correlate, not an address to blank.
      hooks: { streamWrite: (line) => redactLine(pseudonymize(line)) },
    },
    destination,
  );
}
