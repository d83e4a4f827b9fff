import { MAX_CLIENT_TOKEN_TTL_SECONDS } from '@hearth/shared';
import { decodeJwt } from 'jose';
import type { CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { readKeySet } from '../keys/key-store.js';
import type { TokenStore } from '../tokens/token-store.js';
import { ownerRequest } from '../tunnel/owner-request.js';

/** One token to revoke: its id, and until when the edge must keep refusing it (seconds). */
export interface RevokeTarget {
  jti: string;
  expires_at: number;
  user?: string;
}

/** What the edge said for one target. */
export interface RevokeOutcome extends RevokeTarget {
  /** False when the edge had revoked it already. */
  token_revoked: boolean;
}

const JTI = /^[^\p{Cc}\s]{1,128}$/u;

/**
 * The token `tokenOrJti` names. A token (three dot-separated parts) is decoded, not verified:
 * only its `jti` and `exp` are wanted, and revoking a token one cannot verify is harmless. A
 * jti is looked up in the local record for its expiry; unknown here (issued elsewhere, or the
 * record is gone), the edge keeps the revocation as long as any token may live.
 *
 * @throws ConfigError for a token without a jti, or text that is neither
 */
export function targetOf(tokenOrJti: string, tokens: TokenStore, now: number): RevokeTarget {
  const value = tokenOrJti.trim();
  if (value.split('.').length === 3) {
    let claims: ReturnType<typeof decodeJwt>;
    try {
      claims = decodeJwt(value);
    } catch (cause) {
      throw new ConfigError('that looks like a token but cannot be decoded: paste it whole, or give its jti (hearth token list)', { cause });
    }
    if (typeof claims.jti !== 'string' || !JTI.test(claims.jti)) throw new ConfigError('that token has no jti, so the edge cannot be told to refuse it');
    const known = tokens.get(claims.jti);
    const expiresAt = claims.exp ?? known?.expires_at ?? now + MAX_CLIENT_TOKEN_TTL_SECONDS;
    const user = typeof claims.sub === 'string' ? claims.sub : known?.user;
    return { jti: claims.jti, expires_at: expiresAt, ...(user ? { user } : {}) };
  }
  if (!JTI.test(value)) throw new ConfigError('give a token, or a token id (jti) as hearth token list shows it');
  const known = tokens.get(value);
  return { jti: value, expires_at: known?.expires_at ?? now + MAX_CLIENT_TOKEN_TTL_SECONDS, ...(known ? { user: known.user } : {}) };
}

/**
 * Tells the edge to refuse each target from now on (one short owner session per token: the
 * tunnel is the owner's channel, the core key the credential), and marks each revoked in the
 * local record once the edge has answered. Stops at the first refusal or unreachable edge, so
 * what is marked here is what the edge confirmed.
 *
 * @throws ConfigError when the edge cannot be reached or refuses
 */
export async function revokeTokens(config: CoreConfig, tokens: TokenStore, targets: readonly RevokeTarget[]): Promise<RevokeOutcome[]> {
  const keySet = await readKeySet(config.keyFile);
  const outcomes: RevokeOutcome[] = [];
  for (const target of targets) {
    const result = await ownerRequest(
      { edgeUrl: config.edgeUrl, coreId: config.coreId, purpose: 'owner', keySet },
      { action: 'revoke_token', jti: target.jti, expires_at: target.expires_at },
    );
    if (!result.ok) throw new ConfigError(`the edge did not revoke ${target.jti}: ${result.error ?? 'no reason given'}`);
    tokens.markRevoked(target.jti, Math.floor(Date.now() / 1000));
    outcomes.push({ ...target, token_revoked: result.token_revoked ?? true });
  }
  return outcomes;
}
