import { CLIENT_AUDIENCE, DEFAULT_CLIENT_SCOPES, reservedAudienceProblem, signClientToken, type ClientScope } from '@hearth/shared';
import type { Command } from 'commander';
import { type CoreConfig, loadCoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { readKeySet } from '../keys/key-store.js';
import { openDatabase } from '../memory/database.js';
import { type IssuedToken, TokenStore } from '../tokens/token-store.js';
import { runCommand } from './run.js';
import { isoSeconds, parseAudience, parseScopes, parseTtl, parseUser } from './token-args.js';
import { type RevokeOutcome, revokeTokens, targetOf } from './token-revoke.js';

const DEFAULT_TTL = '30d';
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Opens the token record in the core's database for the length of `body`. */
async function withTokens<T>(config: CoreConfig, body: (tokens: TokenStore) => Promise<T> | T): Promise<T> {
  const db = openDatabase(config.memory.databasePath);
  try {
    return await body(new TokenStore(db));
  } finally {
    db.close();
  }
}

/** A token's state at `now`, for people. */
function status(token: IssuedToken, now: number): string {
  if (token.revoked_at !== null) return `revoked ${isoSeconds(token.revoked_at)}`;
  return token.expires_at <= now ? `expired ${isoSeconds(token.expires_at)}` : `valid until ${isoSeconds(token.expires_at)}`;
}

/** `token list`, for people. */
function formatTokens(tokens: readonly IssuedToken[], now = nowSeconds()): string {
  if (tokens.length === 0) return 'no client tokens issued yet: hearth token issue --user ID\n';
  return tokens
    .map((t) => `${t.jti}  ${t.user}  ${t.scopes.join(',')}  issued ${isoSeconds(t.issued_at)}  ${status(t, now)}`)
    .join('\n')
    .concat('\n');
}

/** `token revoke`, for people. */
function formatRevoked(outcomes: readonly RevokeOutcome[]): string {
  return outcomes
    .map((o) => {
      const who = o.user ? ` (${o.user})` : '';
      return o.token_revoked ? `revoked ${o.jti}${who}: the edge refuses it from now on` : `${o.jti}${who} was revoked already`;
    })
    .join('\n')
    .concat('\n');
}

/**
 * `hearth token issue|list|revoke`: client tokens for phones, browsers and OpenAI clients,
 * signed with the core key (the edge verifies them against HEARTH_CORE_JWKS). Issued tokens are
 * recorded (never the token itself) in HEARTH_DATA_DIR/core.db.
 */
export function registerTokenCommand(program: Command): void {
  const token = program.command('token').description('client tokens for phones, browsers and OpenAI clients: issue, list, revoke');
  token
    .command('issue')
    .description('sign a client token with the core key; prints only the token (details on stderr)')
    .requiredOption('--user <id>', 'whose token: the API user id, 1-64 of A-Z a-z 0-9 . _ @ + -', parseUser)
    .option('--scopes <list>', `comma-separated (default ${DEFAULT_CLIENT_SCOPES.join(',')})`, parseScopes)
    .option('--ttl <duration>', `how long it is valid, e.g. 12h, 30d (default ${DEFAULT_TTL}, at most 366d)`, parseTtl)
    // The edge's HEARTH_CLIENT_AUDIENCE, when the same .env holds it.
    .option('--audience <aud>', `the edge's HEARTH_CLIENT_AUDIENCE (default ${CLIENT_AUDIENCE}; never hearth:tunnel or hearth:admin)`, parseAudience)
    .action((options: { user: string; scopes?: ClientScope[]; ttl?: number; audience?: string }) =>
      runCommand(async () => {
        const config = loadCoreConfig(process.env);
        const scopes = options.scopes ?? [...DEFAULT_CLIENT_SCOPES];
        const ttlSeconds = options.ttl ?? parseTtl(DEFAULT_TTL);
        const audience = options.audience ?? (process.env.HEARTH_CLIENT_AUDIENCE || CLIENT_AUDIENCE);
        // From the environment, the flag's parser never saw it: the same refusal, naming the variable.
        const reserved = reservedAudienceProblem(audience, options.audience === undefined ? 'HEARTH_CLIENT_AUDIENCE' : 'the audience');
        if (reserved) throw new ConfigError(reserved);
        const signed = await signClientToken(await readKeySet(config.keyFile), { user: options.user, scopes, ttlSeconds, audience });
        await withTokens(config, (tokens) =>
          // iat is exp - ttl by construction (signClientToken stamps both from one clock reading).
          tokens.record({ jti: signed.jti, user: options.user, scopes, issued_at: signed.expiresAt - ttlSeconds, expires_at: signed.expiresAt }),
        );
        process.stderr.write(`issued a token for ${options.user}, scopes ${scopes.join(',')}, expires ${isoSeconds(signed.expiresAt)}, jti ${signed.jti}\n`);
        process.stdout.write(`${signed.token}\n`);
      }),
    );
  token
    .command('list')
    .description('the client tokens issued here: id (jti), user, scopes, and whether still valid')
    .option('--json', 'print JSON for programs', false)
    .action((options: { json: boolean }) =>
      runCommand(async () => {
        const list = await withTokens(loadCoreConfig(process.env), (tokens) => tokens.list());
        process.stdout.write(options.json ? `${JSON.stringify(list, null, 2)}\n` : formatTokens(list));
      }),
    );
  token
    .command('revoke [token-or-jti]')
    .description('have the edge refuse a token from now on: give the token, its jti, or --user for all of theirs')
    .option('--user <id>', "revoke every valid token issued here for this user", parseUser)
    .option('--json', 'print JSON for programs', false)
    .action((tokenOrJti: string | undefined, options: { user?: string; json: boolean }) =>
      runCommand(async () => {
        if ((tokenOrJti === undefined) === (options.user === undefined)) {
          throw new ConfigError('give a token or its jti, or --user ID, one of the two: hearth token revoke <token-or-jti> | --user ID');
        }
        const config = loadCoreConfig(process.env);
        const outcomes = await withTokens(config, (tokens) => {
          const now = nowSeconds();
          const targets = options.user
            ? tokens.active(options.user, now).map((t) => ({ jti: t.jti, expires_at: t.expires_at, user: t.user }))
            : [targetOf(tokenOrJti ?? '', tokens, now)];
          if (targets.length === 0) throw new ConfigError(`no valid tokens issued here for ${options.user} (hearth token list)`);
          return revokeTokens(config, tokens, targets);
        });
        process.stdout.write(options.json ? `${JSON.stringify(outcomes, null, 2)}\n` : formatRevoked(outcomes));
      }),
    );
}
