import { z } from 'zod';
import { CLIENT_AUDIENCE, reservedAudienceProblem } from '../client/token.js';
import { wholeNumber } from './env-schema.js';
import { isLoopbackHost } from './transport.js';

/**
 * The client API's settings (the `/v1` routes): whose tokens the edge trusts, and how much each
 * user and token may ask. Tokens the core issues (`hearth token issue`) are always trusted,
 * verified against the core's own key; an identity provider's tokens are trusted too when its
 * issuer and JWKS (inline or by URL) are set.
 */

/** Asymmetric JWS algorithms only: with a public JWKS, an HMAC "signed" with the public key is the classic confusion. */
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

const isHttpsOrLoopback = (url: URL) => url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));

export const ApiVarsSchema = z.object({
  HEARTH_CLIENT_JWKS: z.string().optional().meta({ description: "an identity provider's JWK Set, inline (public keys only), for `HEARTH_CLIENT_ISSUER`'s tokens", shownDefault: 'none (core-issued tokens only)' }),
  HEARTH_CLIENT_JWKS_URL: z
    .url({ error: 'HEARTH_CLIENT_JWKS_URL must be the https URL of a JWK Set' })
    // Keys fetched in the clear can be swapped on the way: every token would then verify.
    .refine((url) => !URL.canParse(url) || isHttpsOrLoopback(new URL(url)), {
      error: 'HEARTH_CLIENT_JWKS_URL must be the https URL of a JWK Set (http only on loopback)',
    })
    .optional()
    .meta({ description: "the identity provider's JWK Set by URL (`https:`; `http:` only on loopback), fetched and cached for 10 minutes", shownDefault: 'none (core-issued tokens only)' }),
  HEARTH_CLIENT_ISSUER: z.string().min(1).max(512).optional().meta({ description: 'the `iss` of an identity provider whose tokens are trusted too; needs `HEARTH_CLIENT_JWKS_URL` or `HEARTH_CLIENT_JWKS`', shownDefault: 'none (core-issued tokens only)' }),
  HEARTH_CLIENT_AUDIENCE: z.string().min(1).max(512).default(CLIENT_AUDIENCE).meta({ description: "the `aud` every client token must carry; never `hearth:tunnel` or `hearth:admin`, the core's own (refused, as `hearth token issue --audience` refuses them)" }),
  HEARTH_CLIENT_ALGORITHMS: z
    .string()
    .default('RS256,ES256')
    .transform((list, ctx) => {
      const algorithms = list.split(',').map((a) => a.trim()).filter(Boolean);
      for (const alg of algorithms) {
        if (!(ASYMMETRIC_ALGORITHMS as readonly string[]).includes(alg)) {
          ctx.addIssue({
            code: 'custom',
            message: `HEARTH_CLIENT_ALGORITHMS: "${alg}" is not allowed; use asymmetric ones (${ASYMMETRIC_ALGORITHMS.join(', ')}): none and HMAC are refused`,
          });
        }
      }
      return algorithms;
    })
    .meta({ description: "the identity provider's signature algorithms, comma-separated (asymmetric only: `none` and HMAC are refused; core tokens are always ES256)" }),
  HEARTH_API_RATE_USER: wholeNumber('HEARTH_API_RATE_USER', 1, 1_000_000).default(120).meta({ description: 'client API requests a minute per user; past it, 429 + `Retry-After`' }),
  HEARTH_API_RATE_TOKEN: wholeNumber('HEARTH_API_RATE_TOKEN', 1, 1_000_000).default(60).meta({ description: 'client API requests a minute per token; past it, 429 + `Retry-After`' }),
  // Live streams are held in the Relay's memory: bounded per user and per token.
  HEARTH_API_STREAMS_USER: wholeNumber('HEARTH_API_STREAMS_USER', 1, 10_000).default(20).meta({ description: "open `/v1/events` and `/v1/ws` streams per user (each is held in the Relay's memory); past it, 429 `too_many_streams`" }),
  HEARTH_API_STREAMS_TOKEN: wholeNumber('HEARTH_API_STREAMS_TOKEN', 1, 10_000).default(5).meta({ description: 'open `/v1/events` and `/v1/ws` streams per token; past it, 429 `too_many_streams`' }),
  HEARTH_HISTORY_TIMEOUT_MS: wholeNumber('HEARTH_HISTORY_TIMEOUT_MS', 100, 120_000).default(10_000).meta({ description: 'how long a history request waits for the core before 504 `core_timeout`' }),
  HEARTH_COMPLETION_TIMEOUT_MS: wholeNumber('HEARTH_COMPLETION_TIMEOUT_MS', 1_000, 3_600_000).default(120_000).meta({ description: 'how long a chat completion or an embeddings request waits for the core before 504 `core_timeout`' }),
});

export interface ApiConfig {
  /** `aud` every client token must carry. */
  audience: string;
  /** An identity provider whose tokens are trusted besides the core's; none when unset. */
  identityProvider: { issuer: string; jwks: { keys: Record<string, unknown>[] } | undefined; jwksUrl: string | undefined; algorithms: string[] } | undefined;
  /** Requests a minute: per user, and per token. Past either, 429 + Retry-After. */
  ratePerUser: number;
  ratePerToken: number;
  /** Open streams (SSE and WebSocket): per user, and per token. Past either, 429. */
  streamsPerUser: number;
  streamsPerToken: number;
  /** How long a history request waits for a core before 504. */
  historyTimeoutMs: number;
  /** How long a chat completion may take before 504. */
  completionTimeoutMs: number;
}

const JwksSchema = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });

/** The API part of the edge's configuration; problems are pushed, naming the variable. */
export function apiConfigOf(v: z.infer<typeof ApiVarsSchema>, problems: string[]): ApiConfig {
  let jwks: { keys: Record<string, unknown>[] } | undefined;
  if (v.HEARTH_CLIENT_JWKS !== undefined) {
    try {
      const parsed = JwksSchema.safeParse(JSON.parse(v.HEARTH_CLIENT_JWKS));
      if (parsed.success) jwks = parsed.data;
      else problems.push('HEARTH_CLIENT_JWKS must be a JWK Set ({"keys":[...]}) of your identity provider');
    } catch {
      problems.push('HEARTH_CLIENT_JWKS is not JSON; expected a JWK Set ({"keys":[...]})');
    }
    if (jwks?.keys.some((key) => 'd' in key || key.kty === 'oct')) {
      problems.push('HEARTH_CLIENT_JWKS must hold public keys only (no "d", no "oct" secrets)');
    }
  }
  const external = v.HEARTH_CLIENT_JWKS !== undefined || v.HEARTH_CLIENT_JWKS_URL !== undefined;
  if (external && !v.HEARTH_CLIENT_ISSUER) {
    problems.push('HEARTH_CLIENT_ISSUER is missing: tokens of your identity provider are checked against its issuer (the "iss" it writes)');
  }
  const reserved = reservedAudienceProblem(v.HEARTH_CLIENT_AUDIENCE, 'HEARTH_CLIENT_AUDIENCE');
  if (reserved) problems.push(reserved);
  if (v.HEARTH_CLIENT_ISSUER && !external) {
    problems.push('HEARTH_CLIENT_ISSUER is set but neither HEARTH_CLIENT_JWKS nor HEARTH_CLIENT_JWKS_URL: give the identity provider\'s keys');
  }
  return {
    audience: v.HEARTH_CLIENT_AUDIENCE,
    identityProvider:
      external && v.HEARTH_CLIENT_ISSUER
        ? { issuer: v.HEARTH_CLIENT_ISSUER, jwks, jwksUrl: v.HEARTH_CLIENT_JWKS_URL, algorithms: v.HEARTH_CLIENT_ALGORITHMS }
        : undefined,
    ratePerUser: v.HEARTH_API_RATE_USER,
    ratePerToken: v.HEARTH_API_RATE_TOKEN,
    streamsPerUser: v.HEARTH_API_STREAMS_USER,
    streamsPerToken: v.HEARTH_API_STREAMS_TOKEN,
    historyTimeoutMs: v.HEARTH_HISTORY_TIMEOUT_MS,
    completionTimeoutMs: v.HEARTH_COMPLETION_TIMEOUT_MS,
  };
}
