import { parseCoreKeySet, type CoreKeySet } from '@hearth/shared';
import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';

/**
 * The edge's settings, validated once per isolate. Workers have no start-up to fail at, so a
 * missing or bad setting answers 503 (platforms retry later; nothing is lost) and logs which
 * variable to set and how.
 */
const howToSet = (name: string) =>
  `set it in edge-worker/.dev.vars locally (npm start writes one) or with \`wrangler secret put ${name}\``;

const required = (name: string) =>
  z.string({ error: `${name} is missing: ${howToSet(name)}` }).min(1, `${name} is empty: ${howToSet(name)}`);

const EdgeConfigSchema = z.object({
  // Telegram allows 1-256 characters of A-Z a-z 0-9 _ - as a webhook secret_token.
  TELEGRAM_WEBHOOK_SECRET: required('TELEGRAM_WEBHOOK_SECRET').regex(
    /^[A-Za-z0-9_-]{16,256}$/,
    'TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -',
  ),
  TELEGRAM_BOT_TOKEN: required('TELEGRAM_BOT_TOKEN'),
  TELEGRAM_API_BASE: z
    .url({ error: 'TELEGRAM_API_BASE must be a URL such as https://api.telegram.org' })
    .transform((url) => url.replace(/\/+$/, '')),
  HEARTH_CORE_JWKS: required('HEARTH_CORE_JWKS'),
  HEARTH_HEARTBEAT_MS: z.coerce.number().int().min(1_000).max(300_000).default(15_000),
});

export interface EdgeConfig {
  telegram: { webhookSecret: string; botToken: string; apiBase: string };
  /** The core's public keys: verify its tunnel tokens, seal messages to it. */
  coreKeys: CoreKeySet;
  heartbeatMs: number;
}

export class EdgeConfigError extends HTTPException {
  override readonly name = 'EdgeConfigError';
  constructor(readonly problems: string[]) {
    super(503, { message: `edge is misconfigured: ${problems.join('; ')}` });
  }
}

const cache = new WeakMap<object, EdgeConfig>();

/** Parses the bindings into an {@link EdgeConfig}; throws {@link EdgeConfigError} naming each variable. */
export function loadConfig(env: Env): EdgeConfig {
  const cached = cache.get(env);
  if (cached) return cached;
  const parsed = EdgeConfigSchema.safeParse(env);
  if (!parsed.success) throw new EdgeConfigError(parsed.error.issues.map((issue) => issue.message));
  let coreKeys: CoreKeySet;
  try {
    coreKeys = parseCoreKeySet(parsed.data.HEARTH_CORE_JWKS, 'HEARTH_CORE_JWKS');
  } catch (error) {
    throw new EdgeConfigError([`${error instanceof Error ? error.message : String(error)} (run \`npx hearth keygen\`)`]);
  }
  const config: EdgeConfig = {
    telegram: {
      webhookSecret: parsed.data.TELEGRAM_WEBHOOK_SECRET,
      botToken: parsed.data.TELEGRAM_BOT_TOKEN,
      apiBase: parsed.data.TELEGRAM_API_BASE,
    },
    coreKeys,
    heartbeatMs: parsed.data.HEARTH_HEARTBEAT_MS,
  };
  cache.set(env, config);
  return config;
}
