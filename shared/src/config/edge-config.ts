import { z } from 'zod';
import { parseCoreKeySet, type CoreKeySet } from '../crypto/core-keys.js';
import { wholeNumber } from './env-schema.js';

/**
 * The edge's settings and their validation, in one place for the two who need it: the worker
 * (which answers 503 while they are wrong) and `hearth edge` (which refuses to start).
 * Each problem names the variable and says how to set it.
 */
export const EDGE_SECRETS = ['TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'HEARTH_CORE_JWKS'] as const;

const howToSet = (name: string) =>
  `set it in edge-worker/.dev.vars locally (npm start generates one) or with \`wrangler secret put ${name}\``;

const required = (name: string) =>
  z.string({ error: `${name} is missing: ${howToSet(name)}` }).min(1, `${name} is empty: ${howToSet(name)}`);

const EdgeVarsSchema = z.object({
  // Telegram allows 1-256 characters of A-Z a-z 0-9 _ - as a webhook secret_token; we want 16+.
  TELEGRAM_WEBHOOK_SECRET: required('TELEGRAM_WEBHOOK_SECRET').regex(
    /^[A-Za-z0-9_-]{16,256}$/,
    'TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -',
  ),
  TELEGRAM_BOT_TOKEN: required('TELEGRAM_BOT_TOKEN'),
  TELEGRAM_API_BASE: z
    .url({ error: 'TELEGRAM_API_BASE must be a URL such as https://api.telegram.org' })
    .default('https://api.telegram.org')
    .transform((url) => url.replace(/\/+$/, '')),
  HEARTH_CORE_JWKS: required('HEARTH_CORE_JWKS'),
  HEARTH_HEARTBEAT_MS: wholeNumber('HEARTH_HEARTBEAT_MS', 200, 300_000).default(15_000),
  HEARTH_ACK_TIMEOUT_MS: wholeNumber('HEARTH_ACK_TIMEOUT_MS', 500, 3_600_000).default(120_000),
  HEARTH_MAX_ATTEMPTS: wholeNumber('HEARTH_MAX_ATTEMPTS', 1, 100).default(5),
  HEARTH_QUEUE_MAX: wholeNumber('HEARTH_QUEUE_MAX', 1, 10_000_000).default(10_000),
  HEARTH_QUEUE_TTL: wholeNumber('HEARTH_QUEUE_TTL', 1, 365 * 86_400).default(7 * 86_400),
  HEARTH_EXPIRED_NOTICE: z.string().max(1000).optional(),
  HEARTH_DIAGNOSTICS: z.enum(['on', 'off'], { error: 'HEARTH_DIAGNOSTICS must be on or off' }).default('off'),
  HEARTH_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'HEARTH_LOG_LEVEL must be debug, info, warn or error' }).default('info'),
});

export interface EdgeConfig {
  telegram: { webhookSecret: string; botToken: string; apiBase: string };
  /** The core's public keys: verify its tunnel tokens, seal messages to it. */
  coreKeys: CoreKeySet;
  delivery: DeliveryLimits;
  /** Diagnostic routes (benchmark baselines); never on in production. */
  diagnostics: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** How the Relay holds and hands out messages. */
export interface DeliveryLimits {
  /** How often cores ping; one silent for `silenceMs` (2.5 heartbeats) is dropped. */
  heartbeatMs: number;
  silenceMs: number;
  /** A delivery neither acked nor progressed for this long goes back to the queue. */
  ackTimeoutMs: number;
  /** Deliveries of one message before it is dead-lettered. */
  maxAttempts: number;
  /** Messages waiting or in flight; beyond it webhooks answer 503 + Retry-After. */
  queueMax: number;
  /** Age after which an undelivered message is dropped (dead-lettered as expired). */
  queueTtlMs: number;
  /** Sent to the sender when their message expires; none when unset. */
  expiredNotice: string | undefined;
}

export type EdgeConfigResult = { ok: true; config: EdgeConfig } | { ok: false; problems: string[] };

/**
 * Validates the edge's variables (worker bindings, or a merged env in Node).
 *
 * @example
 * const result = parseEdgeConfig(env);
 * if (!result.ok) console.error(result.problems.join('\n'));
 */
export function parseEdgeConfig(vars: Record<string, unknown>): EdgeConfigResult {
  // Empty means unset, as in a dotenv file with `NAME=`.
  const present = Object.fromEntries(Object.entries(vars).filter(([, value]) => value !== ''));
  const parsed = EdgeVarsSchema.safeParse(present);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((issue) => issue.message) };
  let coreKeys: CoreKeySet;
  try {
    coreKeys = parseCoreKeySet(parsed.data.HEARTH_CORE_JWKS, 'HEARTH_CORE_JWKS');
  } catch (error) {
    return { ok: false, problems: [`${error instanceof Error ? error.message : String(error)} (run \`npx hearth keygen\`)`] };
  }
  return {
    ok: true,
    config: {
      telegram: {
        webhookSecret: parsed.data.TELEGRAM_WEBHOOK_SECRET,
        botToken: parsed.data.TELEGRAM_BOT_TOKEN,
        apiBase: parsed.data.TELEGRAM_API_BASE,
      },
      coreKeys,
      delivery: {
        heartbeatMs: parsed.data.HEARTH_HEARTBEAT_MS,
        silenceMs: Math.round(parsed.data.HEARTH_HEARTBEAT_MS * 2.5),
        ackTimeoutMs: parsed.data.HEARTH_ACK_TIMEOUT_MS,
        maxAttempts: parsed.data.HEARTH_MAX_ATTEMPTS,
        queueMax: parsed.data.HEARTH_QUEUE_MAX,
        queueTtlMs: parsed.data.HEARTH_QUEUE_TTL * 1000,
        expiredNotice: parsed.data.HEARTH_EXPIRED_NOTICE,
      },
      diagnostics: parsed.data.HEARTH_DIAGNOSTICS === 'on',
      logLevel: parsed.data.HEARTH_LOG_LEVEL,
    },
  };
}
