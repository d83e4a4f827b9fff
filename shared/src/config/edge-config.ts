import { z } from 'zod';
import { AccessPolicySchema, AdmissibleSenderSchema, SenderKeySchema, type AccessSettings } from '../access/access.js';
import { LogKeySchema, logKeyOf } from '../redaction/pseudonyms.js';
import { parseCoreKeySet, type CoreKeySet } from '../crypto/core-keys.js';
import { type ApiConfig, ApiVarsSchema, apiConfigOf } from './api-config.js';
import { wholeNumber } from './env-schema.js';

/**
 * The edge's settings and their validation, in one place for the two who need it: the worker
 * (which answers 503 while they are wrong) and `hearth edge` (which refuses to start).
 * Each problem names the variable and says how to set it.
 *
 * A platform is on when its secrets are set; half a platform is an error; at least one must be on.
 */
const howToSet = (name: string) =>
  `set it in edge-worker/.dev.vars locally (npm start generates one) or with \`wrangler secret put ${name}\``;

const optionalSecret = z.string().min(1).optional();

const accessPolicy = (name: string) => z.enum(AccessPolicySchema.options, { error: `${name} must be open, allowlist or pairing` });

/** Every secret the edge may read (what `wrangler secret put` takes), for tools that pass them on. */
export const EDGE_SECRETS = [
  'HEARTH_CORE_JWKS',
  'TELEGRAM_WEBHOOK_SECRET',
  'TELEGRAM_BOT_TOKEN',
  'WHATSAPP_VERIFY_TOKEN',
  'WHATSAPP_APP_SECRET',
  'WHATSAPP_ACCESS_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_BOT_TOKEN',
  'DISCORD_PUBLIC_KEY',
  'DISCORD_APPLICATION_ID',
  'DISCORD_BOT_TOKEN',
  'HEARTH_LOG_KEY',
] as const;

const EdgeVarsSchema = z.object({
  // Telegram allows 1-256 characters of A-Z a-z 0-9 _ - as a webhook secret_token; we want 16+.
  TELEGRAM_WEBHOOK_SECRET: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,256}$/, 'TELEGRAM_WEBHOOK_SECRET must be 16-256 characters of A-Z a-z 0-9 _ -')
    .optional(),
  TELEGRAM_BOT_TOKEN: optionalSecret,
  TELEGRAM_API_BASE: z
    .url({ error: 'TELEGRAM_API_BASE must be a URL such as https://api.telegram.org' })
    .default('https://api.telegram.org')
    .transform((url) => url.replace(/\/+$/, '')),
  TELEGRAM_BOT_USERNAME: z
    .string()
    .regex(/^@?[A-Za-z0-9_]{3,64}$/, 'TELEGRAM_BOT_USERNAME must be the bot username, e.g. hearth_bot')
    .transform((name) => name.replace(/^@/, ''))
    .optional(),
  TELEGRAM_GROUP_MODE: z.enum(['addressed', 'all'], { error: 'TELEGRAM_GROUP_MODE must be addressed or all' }).default('addressed'),
  // The Bot API's documented limits: about 1 message/s per chat, 20/min per group, 30/s in all.
  TELEGRAM_CHAT_INTERVAL_MS: wholeNumber('TELEGRAM_CHAT_INTERVAL_MS', 0, 60_000).default(1_000),
  TELEGRAM_GROUP_INTERVAL_MS: wholeNumber('TELEGRAM_GROUP_INTERVAL_MS', 0, 600_000).default(3_000),
  TELEGRAM_MAX_PER_SECOND: wholeNumber('TELEGRAM_MAX_PER_SECOND', 1, 1_000).default(30),
  WHATSAPP_VERIFY_TOKEN: optionalSecret,
  WHATSAPP_APP_SECRET: optionalSecret,
  WHATSAPP_ACCESS_TOKEN: optionalSecret,
  WHATSAPP_PHONE_NUMBER_ID: z.string().regex(/^\d{1,32}$/, 'WHATSAPP_PHONE_NUMBER_ID must be the numeric id Meta shows').optional(),
  WHATSAPP_API_BASE: z
    .url({ error: 'WHATSAPP_API_BASE must be the Graph API base with its version, e.g. https://graph.facebook.com/v21.0' })
    .default('https://graph.facebook.com/v21.0')
    .transform((url) => url.replace(/\/+$/, '')),
  // The Cloud API's default throughput per phone number.
  WHATSAPP_MAX_PER_SECOND: wholeNumber('WHATSAPP_MAX_PER_SECOND', 1, 1_000).default(80),
  SLACK_SIGNING_SECRET: optionalSecret,
  SLACK_BOT_TOKEN: optionalSecret,
  SLACK_API_BASE: z
    .url({ error: 'SLACK_API_BASE must be a URL such as https://slack.com/api' })
    .default('https://slack.com/api')
    .transform((url) => url.replace(/\/+$/, '')),
  // chat.postMessage: about one message a second per channel (short bursts allowed).
  SLACK_CHANNEL_INTERVAL_MS: wholeNumber('SLACK_CHANNEL_INTERVAL_MS', 0, 60_000).default(1_000),
  DISCORD_PUBLIC_KEY: z.string().regex(/^[0-9a-fA-F]{64}$/, "DISCORD_PUBLIC_KEY must be the application's public key, 64 hex characters").optional(),
  DISCORD_APPLICATION_ID: z.string().regex(/^\d{1,20}$/, 'DISCORD_APPLICATION_ID must be the numeric application id').optional(),
  DISCORD_BOT_TOKEN: optionalSecret,
  DISCORD_API_BASE: z
    .url({ error: 'DISCORD_API_BASE must be a URL such as https://discord.com/api/v10' })
    .default('https://discord.com/api/v10')
    .transform((url) => url.replace(/\/+$/, '')),
  HEARTH_ACCESS_POLICY: accessPolicy('HEARTH_ACCESS_POLICY').default('pairing'),
  HEARTH_ACCESS_POLICY_TELEGRAM: accessPolicy('HEARTH_ACCESS_POLICY_TELEGRAM').optional(),
  HEARTH_ACCESS_POLICY_WHATSAPP: accessPolicy('HEARTH_ACCESS_POLICY_WHATSAPP').optional(),
  HEARTH_ACCESS_POLICY_SLACK: accessPolicy('HEARTH_ACCESS_POLICY_SLACK').optional(),
  HEARTH_ACCESS_POLICY_DISCORD: accessPolicy('HEARTH_ACCESS_POLICY_DISCORD').optional(),
  HEARTH_ALLOWLIST: z
    .string()
    .default('')
    .transform((list, ctx) => {
      const senders = list.split(',').map((s) => s.trim()).filter(Boolean);
      for (const sender of senders) {
        const parsed = AdmissibleSenderSchema.safeParse(sender);
        if (!parsed.success) {
          const why = SenderKeySchema.safeParse(sender).success
            ? parsed.error.issues[0]?.message
            : `"${sender}" is not platform:id (e.g. telegram:42,whatsapp:15551234567)`;
          ctx.addIssue({ code: 'custom', message: `HEARTH_ALLOWLIST: ${why}` });
        }
      }
      return new Set(senders);
    }),
  HEARTH_PAIRING_TTL: wholeNumber('HEARTH_PAIRING_TTL', 60, 7 * 86_400).default(3_600),
  HEARTH_PAIRING_MAX_PENDING: wholeNumber('HEARTH_PAIRING_MAX_PENDING', 1, 100).default(3),
  // Checked after the schema, so that its absence is reported with every other problem.
  HEARTH_CORE_JWKS: z.string().optional(),
  HEARTH_HEARTBEAT_MS: wholeNumber('HEARTH_HEARTBEAT_MS', 200, 300_000).default(15_000),
  HEARTH_ACK_TIMEOUT_MS: wholeNumber('HEARTH_ACK_TIMEOUT_MS', 500, 3_600_000).default(120_000),
  HEARTH_MAX_ATTEMPTS: wholeNumber('HEARTH_MAX_ATTEMPTS', 1, 100).default(5),
  HEARTH_QUEUE_MAX: wholeNumber('HEARTH_QUEUE_MAX', 1, 10_000_000).default(10_000),
  HEARTH_QUEUE_MAX_PER_SENDER: wholeNumber('HEARTH_QUEUE_MAX_PER_SENDER', 1, 10_000_000).optional(),
  HEARTH_QUEUE_TTL: wholeNumber('HEARTH_QUEUE_TTL', 1, 365 * 86_400).default(7 * 86_400),
  HEARTH_EXPIRED_NOTICE: z.string().max(1000).optional(),
  HEARTH_DIAGNOSTICS: z.enum(['on', 'off'], { error: 'HEARTH_DIAGNOSTICS must be on or off' }).default('off'),
  HEARTH_LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error'], { error: 'HEARTH_LOG_LEVEL must be debug, info, warn or error' }).default('info'),
  HEARTH_LOG_KEY: LogKeySchema.optional(),
  ...ApiVarsSchema.shape,
});

/** Every variable the edge reads, for launchers that pass the set ones on to workerd. */
export const EDGE_VARIABLES = Object.keys(EdgeVarsSchema.shape) as readonly (keyof typeof EdgeVarsSchema.shape)[];

export interface TelegramConfig {
  webhookSecret: string;
  botToken: string;
  apiBase: string;
  /** Without @; when set, a group message that @-mentions it counts as addressed to the bot. */
  botUsername: string | undefined;
  /** `addressed`: in groups, only messages that mention, reply to or command the bot; `all`: every one. */
  groupMode: 'addressed' | 'all';
  /** Sends are paced to the Bot API's limits; overflow waits in the outbox. */
  pacing: { chatIntervalMs: number; groupIntervalMs: number; maxPerSecond: number };
}

export interface WhatsAppConfig {
  verifyToken: string;
  appSecret: string;
  accessToken: string;
  phoneNumberId: string;
  /** The Graph API base including its version path. */
  apiBase: string;
  /** Messages per second this phone number may send; overflow waits in the outbox. */
  maxPerSecond: number;
}

export interface SlackConfig {
  /** Signs every request Slack sends (Basic Information → App Credentials). */
  signingSecret: string;
  /** The Bot User OAuth Token (`xoxb-…`) that chat.postMessage takes. */
  botToken: string;
  apiBase: string;
  /** Spacing of sends into one channel; overflow waits in the outbox. */
  channelIntervalMs: number;
}

export interface DiscordConfig {
  /** Verifies every interaction Discord sends (General Information → Public Key), hex. */
  publicKey: string;
  applicationId: string;
  /** The bot's token: replies after an interaction token's 15 minutes, typing, and the key sealing those tokens at rest. */
  botToken: string;
  apiBase: string;
}

export interface EdgeConfig {
  /** Undefined when Telegram is not set up in this deployment. */
  telegram: TelegramConfig | undefined;
  /** Undefined when WhatsApp is not set up in this deployment. */
  whatsapp: WhatsAppConfig | undefined;
  /** Undefined when Slack is not set up in this deployment. */
  slack: SlackConfig | undefined;
  /** Undefined when Discord is not set up in this deployment. */
  discord: DiscordConfig | undefined;
  /** The core's public keys: verify its tunnel tokens, seal messages to it. */
  coreKeys: CoreKeySet;
  delivery: DeliveryLimits;
  /** Who may talk to the assistant. */
  access: AccessSettings;
  /** The client API (`/v1`): trusted token issuers, rate limits, timeouts. */
  api: ApiConfig;
  /** Diagnostic routes (benchmark baselines); never on in production. */
  diagnostics: boolean;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Keys the pseudonyms of WhatsApp ids in logs (HEARTH_LOG_KEY, else from the app secret). */
  logKey: Uint8Array | undefined;
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
  /** Of them, at most this many from one sender (a chat, a group, an API user). */
  queueMaxPerSender: number;
  /** Age after which an undelivered message is dropped (dead-lettered as expired). */
  queueTtlMs: number;
  /** Sent to the sender when their message expires; none when unset. */
  expiredNotice: string | undefined;
}

export type EdgeConfigResult = { ok: true; config: EdgeConfig } | { ok: false; problems: string[] };

/** A platform's settings must be all set or all unset: names the missing ones of a half-set platform. */
function requireAllOrNone(label: string, settings: Record<string, string | undefined>, problems: string[]): void {
  const names = Object.keys(settings);
  const missing = names.filter((name) => settings[name] === undefined);
  if (missing.length === 0 || missing.length === names.length) return;
  for (const name of missing) problems.push(`${name} is missing (${label} needs ${names.join(', ')}): ${howToSet(name)}`);
}

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
  const v = parsed.data;
  const problems: string[] = [];

  requireAllOrNone('Telegram', { TELEGRAM_WEBHOOK_SECRET: v.TELEGRAM_WEBHOOK_SECRET, TELEGRAM_BOT_TOKEN: v.TELEGRAM_BOT_TOKEN }, problems);
  const telegram: TelegramConfig | undefined =
    v.TELEGRAM_WEBHOOK_SECRET && v.TELEGRAM_BOT_TOKEN
      ? {
          webhookSecret: v.TELEGRAM_WEBHOOK_SECRET,
          botToken: v.TELEGRAM_BOT_TOKEN,
          apiBase: v.TELEGRAM_API_BASE,
          botUsername: v.TELEGRAM_BOT_USERNAME,
          groupMode: v.TELEGRAM_GROUP_MODE,
          pacing: {
            chatIntervalMs: v.TELEGRAM_CHAT_INTERVAL_MS,
            groupIntervalMs: v.TELEGRAM_GROUP_INTERVAL_MS,
            maxPerSecond: v.TELEGRAM_MAX_PER_SECOND,
          },
        }
      : undefined;
  requireAllOrNone(
    'WhatsApp',
    {
      WHATSAPP_VERIFY_TOKEN: v.WHATSAPP_VERIFY_TOKEN,
      WHATSAPP_APP_SECRET: v.WHATSAPP_APP_SECRET,
      WHATSAPP_ACCESS_TOKEN: v.WHATSAPP_ACCESS_TOKEN,
      WHATSAPP_PHONE_NUMBER_ID: v.WHATSAPP_PHONE_NUMBER_ID,
    },
    problems,
  );
  const whatsapp: WhatsAppConfig | undefined =
    v.WHATSAPP_VERIFY_TOKEN && v.WHATSAPP_APP_SECRET && v.WHATSAPP_ACCESS_TOKEN && v.WHATSAPP_PHONE_NUMBER_ID
      ? {
          verifyToken: v.WHATSAPP_VERIFY_TOKEN,
          appSecret: v.WHATSAPP_APP_SECRET,
          accessToken: v.WHATSAPP_ACCESS_TOKEN,
          phoneNumberId: v.WHATSAPP_PHONE_NUMBER_ID,
          apiBase: v.WHATSAPP_API_BASE,
          maxPerSecond: v.WHATSAPP_MAX_PER_SECOND,
        }
      : undefined;
  requireAllOrNone('Slack', { SLACK_SIGNING_SECRET: v.SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN: v.SLACK_BOT_TOKEN }, problems);
  const slack: SlackConfig | undefined =
    v.SLACK_SIGNING_SECRET && v.SLACK_BOT_TOKEN
      ? { signingSecret: v.SLACK_SIGNING_SECRET, botToken: v.SLACK_BOT_TOKEN, apiBase: v.SLACK_API_BASE, channelIntervalMs: v.SLACK_CHANNEL_INTERVAL_MS }
      : undefined;
  const discordSettings = { DISCORD_PUBLIC_KEY: v.DISCORD_PUBLIC_KEY, DISCORD_APPLICATION_ID: v.DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN: v.DISCORD_BOT_TOKEN };
  requireAllOrNone('Discord', discordSettings, problems);
  const discord: DiscordConfig | undefined =
    v.DISCORD_PUBLIC_KEY && v.DISCORD_APPLICATION_ID && v.DISCORD_BOT_TOKEN
      ? { publicKey: v.DISCORD_PUBLIC_KEY.toLowerCase(), applicationId: v.DISCORD_APPLICATION_ID, botToken: v.DISCORD_BOT_TOKEN, apiBase: v.DISCORD_API_BASE }
      : undefined;
  // No platform is a deployment of its own: the client API and the web chat are a way in too
  // (their webhooks then answer 404).
  let coreKeys: CoreKeySet | undefined;
  if (v.HEARTH_CORE_JWKS === undefined) {
    problems.push(`HEARTH_CORE_JWKS is missing: ${howToSet('HEARTH_CORE_JWKS')}`);
  } else {
    try {
      coreKeys = parseCoreKeySet(v.HEARTH_CORE_JWKS, 'HEARTH_CORE_JWKS');
    } catch (error) {
      problems.push(`${error instanceof Error ? error.message : String(error)} (run \`npx hearth keygen\`)`);
    }
  }
  const api = apiConfigOf(v, problems);
  if (problems.length > 0 || !coreKeys) return { ok: false, problems };
  // Without HEARTH_LOG_KEY, the app secret: WhatsApp ids reach the edge only where it is set.
  const logSecret = v.HEARTH_LOG_KEY ?? v.WHATSAPP_APP_SECRET;
  return {
    ok: true,
    config: {
      telegram,
      whatsapp,
      slack,
      discord,
      coreKeys,
      delivery: {
        heartbeatMs: v.HEARTH_HEARTBEAT_MS,
        silenceMs: Math.round(v.HEARTH_HEARTBEAT_MS * 2.5),
        ackTimeoutMs: v.HEARTH_ACK_TIMEOUT_MS,
        maxAttempts: v.HEARTH_MAX_ATTEMPTS,
        queueMax: v.HEARTH_QUEUE_MAX,
        // A tenth of the queue by default: ten busy senders fill it, one cannot.
        queueMaxPerSender: Math.min(v.HEARTH_QUEUE_MAX, v.HEARTH_QUEUE_MAX_PER_SENDER ?? Math.ceil(v.HEARTH_QUEUE_MAX / 10)),
        queueTtlMs: v.HEARTH_QUEUE_TTL * 1000,
        expiredNotice: v.HEARTH_EXPIRED_NOTICE,
      },
      access: {
        defaultPolicy: v.HEARTH_ACCESS_POLICY,
        overrides: {
          ...(v.HEARTH_ACCESS_POLICY_TELEGRAM ? { telegram: v.HEARTH_ACCESS_POLICY_TELEGRAM } : {}),
          ...(v.HEARTH_ACCESS_POLICY_WHATSAPP ? { whatsapp: v.HEARTH_ACCESS_POLICY_WHATSAPP } : {}),
          ...(v.HEARTH_ACCESS_POLICY_SLACK ? { slack: v.HEARTH_ACCESS_POLICY_SLACK } : {}),
          ...(v.HEARTH_ACCESS_POLICY_DISCORD ? { discord: v.HEARTH_ACCESS_POLICY_DISCORD } : {}),
        },
        allowlist: v.HEARTH_ALLOWLIST,
        pairingTtlMs: v.HEARTH_PAIRING_TTL * 1000,
        pairingMaxPending: v.HEARTH_PAIRING_MAX_PENDING,
      },
      api,
      diagnostics: v.HEARTH_DIAGNOSTICS === 'on',
      logLevel: v.HEARTH_LOG_LEVEL,
      logKey: logSecret ? logKeyOf(logSecret) : undefined,
    },
  };
}
