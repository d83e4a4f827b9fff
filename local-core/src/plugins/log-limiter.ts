import type { Logger } from '../logger.js';

/** Log lines (its own and reports of refused attempts) a child may write a second; more are dropped. */
const LOG_LINES_PER_SECOND = 50;

/**
 * At most LOG_LINES_PER_SECOND lines a second from one plugin, so a flood cannot drown the core's
 * log; how many were dropped is said once the second is over.
 *
 * @example
 * if (limiter.allow(log, 'weather')) log.info({ plugin: 'weather' }, line);
 */
export class LogLimiter {
  private second = 0;
  private lines = 0;
  private dropped = 0;

  allow(log: Logger, plugin: string): boolean {
    const second = Math.floor(Date.now() / 1000);
    if (second !== this.second) {
      if (this.dropped > 0) log.warn({ plugin, dropped: this.dropped }, 'plugin log lines dropped (too many a second)');
      this.second = second;
      this.lines = 0;
      this.dropped = 0;
    }
    if (this.lines >= LOG_LINES_PER_SECOND) {
      this.dropped += 1;
      return false;
    }
    this.lines += 1;
    return true;
  }
}
