import { CLIENT_AUDIENCE, reservedAudienceProblem, signClientToken } from '@hearth/shared';
import type { CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { readKeySet } from '../keys/key-store.js';
import { openDatabase } from '../memory/database.js';
import { TokenStore } from '../tokens/token-store.js';

/** How long each token `hearth mcp serve` mints is valid; a new one is minted before it ends. */
const SERVE_TOKEN_TTL_SECONDS = 12 * 3600;
/** A token this close to its end is replaced before the next request. */
const RENEW_BEFORE_SECONDS = 600;

/**
 * Bearer tokens with only the `mcp` scope for `user`, signed with the core key as
 * `hearth token issue` signs them and recorded in the same list (so `hearth token list` shows
 * them and `hearth token revoke` ends them); a fresh one before the last runs out.
 *
 * @example
 * const token = ownerMcpTokens(config, 'owner');
 * headers.set('Authorization', `Bearer ${await token()}`);
 */
export function ownerMcpTokens(config: CoreConfig, user: string, env: NodeJS.ProcessEnv = process.env): () => Promise<string> {
  const audience = env.HEARTH_CLIENT_AUDIENCE || CLIENT_AUDIENCE;
  const reserved = reservedAudienceProblem(audience, 'HEARTH_CLIENT_AUDIENCE');
  if (reserved) throw new ConfigError(reserved);
  let current: Promise<{ token: string; expiresAt: number }> | undefined;
  const mint = async () => {
    const signed = await signClientToken(await readKeySet(config.keyFile), { user, scopes: ['mcp'], ttlSeconds: SERVE_TOKEN_TTL_SECONDS, audience });
    const db = openDatabase(config.memory.databasePath);
    try {
      new TokenStore(db).record({ jti: signed.jti, user, scopes: ['mcp'], issued_at: signed.expiresAt - SERVE_TOKEN_TTL_SECONDS, expires_at: signed.expiresAt });
    } finally {
      db.close();
    }
    return { token: signed.token, expiresAt: signed.expiresAt };
  };
  return async () => {
    const held = current && (await current.catch(() => undefined));
    if (held && held.expiresAt - RENEW_BEFORE_SECONDS > Date.now() / 1000) return held.token;
    current = mint();
    return (await current).token;
  };
}
