import { CLOCK_SKEW_MS } from '@hearth/shared';

/**
 * Client tokens the owner revoked (`hearth token revoke`), by `jti`. A row is kept until the
 * token would be refused anyway: its `exp` plus the clock skew the verifier allows (pruned at
 * `exp` alone, a revoked token was let in again for the last 30 s of its skew).
 */
export function revokeToken(sql: SqlStorage, jti: string, expiresAtMs: number, now: number): boolean {
  return (
    sql
      .exec('INSERT INTO revoked_tokens (jti, expires_at, revoked_at) VALUES (?, ?, ?) ON CONFLICT (jti) DO NOTHING RETURNING jti', jti, expiresAtMs, now)
      .toArray().length > 0
  );
}

export function isRevoked(sql: SqlStorage, jti: string): boolean {
  return sql.exec('SELECT 1 FROM revoked_tokens WHERE jti = ?', jti).toArray().length > 0;
}

export function pruneRevocations(sql: SqlStorage, now: number): number {
  return sql.exec('DELETE FROM revoked_tokens WHERE expires_at < ? RETURNING jti', now - CLOCK_SKEW_MS).toArray().length;
}
