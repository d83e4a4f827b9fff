import { CLOCK_SKEW_MS } from '@hearth/shared';

/**
 * Core tokens (tunnel, admin) already used, by `jti`. A core signs a fresh token for every
 * connection and request, so a second use is a replay: whoever captured one cannot open the
 * tunnel or the admin routes with it while it is still valid. Checked here, in the Relay, which
 * runs one event at a time: two workers racing with the same token cannot both win.
 *
 * A row is kept until its token would be refused anyway: `accepted_until` plus the clock skew
 * the verifier allows.
 */

/** Records `jti`; false when it was seen before (a replay). */
export function claimCoreToken(sql: SqlStorage, jti: string, acceptedUntilMs: number, now: number): boolean {
  return (
    sql
      .exec('INSERT INTO seen_core_tokens (jti, accepted_until, seen_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING RETURNING jti', jti, acceptedUntilMs, now)
      .toArray().length > 0
  );
}

export function pruneSeenCoreTokens(sql: SqlStorage, now: number): number {
  return sql.exec('DELETE FROM seen_core_tokens WHERE accepted_until < ? RETURNING jti', now - CLOCK_SKEW_MS).toArray().length;
}
