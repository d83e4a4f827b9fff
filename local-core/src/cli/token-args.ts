import { ApiUserIdSchema, CLIENT_SCOPES, ClientScopeSchema, MAX_CLIENT_TOKEN_TTL_SECONDS, reservedAudienceProblem, type ClientScope } from '@hearth/shared';
import { InvalidArgumentError } from 'commander';
import { DURATION_UNITS, parseDuration } from './duration.js';

/**
 * `--ttl`: a whole number with a unit, `90s`, `15m`, `12h`, `30d`, at most 366 days. A unit is
 * required: a bare `30` could mean seconds or days, and a guess either way is a surprise.
 *
 * @throws InvalidArgumentError, which commander reports naming the flag
 */
export function parseTtl(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`a duration is a whole number and a unit, ${DURATION_UNITS}, e.g. 30d or 12h.`);
  const seconds = ms / 1000;
  if (seconds < 1 || seconds > MAX_CLIENT_TOKEN_TTL_SECONDS) {
    throw new InvalidArgumentError(`a token lives from 1s to ${MAX_CLIENT_TOKEN_TTL_SECONDS / 86_400}d.`);
  }
  return seconds;
}

/** `--scopes`: a comma-separated list of known scopes, e.g. `chat:read,chat:write`. */
export function parseScopes(value: string): ClientScope[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  if (names.length === 0) throw new InvalidArgumentError(`give at least one scope of ${CLIENT_SCOPES.join(', ')}.`);
  const unknown = names.filter((name) => !ClientScopeSchema.safeParse(name).success);
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scope ${unknown.join(', ')}; the scopes are ${CLIENT_SCOPES.join(', ')}.`);
  return [...new Set(names as ClientScope[])];
}

/** `--user`: an API user id (the token's `sub`; it names their conversations, so no colon). */
export function parseUser(value: string): string {
  const parsed = ApiUserIdSchema.safeParse(value);
  if (!parsed.success) throw new InvalidArgumentError(`${parsed.error.issues[0]?.message ?? 'not a user id'}.`);
  return parsed.data;
}

/**
 * `--audience`: any audience but the core's own (tunnel, admin): a client token for one of
 * those would open the core's routes to whoever holds it.
 */
export function parseAudience(value: string): string {
  const problem = reservedAudienceProblem(value, 'the audience');
  if (problem) throw new InvalidArgumentError(`${problem}.`);
  return value;
}

/** ISO time of seconds since the epoch, without milliseconds. */
export const isoSeconds = (seconds: number) => new Date(seconds * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
