import type { Refusal } from '../api/errors.js';
import type { EdgeConfig } from '../config.js';
import { log } from '../log.js';
import type { RelayCounters } from './counters.js';
import { RateLimiter } from './rate-limit.js';
import { isRevoked } from './revocations.js';

export interface ClientAdmissionDeps {
  sql: SqlStorage;
  counters: RelayCounters;
  config: () => EdgeConfig;
}

/** Whether a verified client token's request goes on: not revoked, within its rates. */
export class ClientAdmission {
  private limiters: { user: RateLimiter; token: RateLimiter } | undefined;

  constructor(private readonly deps: ClientAdmissionDeps) {}

  /**
   * Refused when the token was revoked, or when the user or the token spent its rate (429 with
   * how long to wait). Both buckets are checked before either is charged, so a refused request
   * costs nothing.
   */
  admit({ user, tokenKey, jti }: { user: string; tokenKey: string; jti: string | undefined }): { ok: true } | Refusal {
    if (jti && isRevoked(this.deps.sql, jti)) {
      log('warn', 'client_token_revoked', { user, jti });
      return { ok: false, code: 'revoked', message: 'this token was revoked' };
    }
    const now = Date.now();
    const limiters = this.rateLimiters();
    const wait = Math.max(limiters.user.wait(user, now), limiters.token.wait(tokenKey, now));
    if (wait > 0) {
      log('warn', 'client_rate_limited', { user, retry_after_ms: wait });
      this.deps.counters.add('api_rate_limited');
      return { ok: false, code: 'rate_limited', message: 'too many requests: slow down', retryAfterMs: wait };
    }
    limiters.user.take(user, now);
    limiters.token.take(tokenKey, now);
    return { ok: true };
  }

  private rateLimiters(): { user: RateLimiter; token: RateLimiter } {
    const { ratePerUser, ratePerToken } = this.deps.config().api;
    this.limiters ??= { user: new RateLimiter(ratePerUser), token: new RateLimiter(ratePerToken) };
    return this.limiters;
  }
}
