import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import type { ProvidedContext } from 'vitest';
import { defineConfig } from 'vitest/config';
import { APPLICATION_ID } from '../tests/fakes/discord-payloads.js';

type Inject = <K extends keyof ProvidedContext>(key: K) => ProvidedContext[K];

/** Both platforms against the fakes of global-setup (Node side), and the core's public key. */
const platformBindings = (inject: Inject) => ({
  TELEGRAM_WEBHOOK_SECRET: inject('webhookSecret'),
  TELEGRAM_BOT_TOKEN: inject('botToken'),
  TELEGRAM_API_BASE: inject('telegramApiBase'),
  WHATSAPP_VERIFY_TOKEN: inject('whatsappVerifyToken'),
  WHATSAPP_APP_SECRET: inject('whatsappAppSecret'),
  WHATSAPP_ACCESS_TOKEN: inject('whatsappAccessToken'),
  WHATSAPP_PHONE_NUMBER_ID: inject('whatsappPhoneNumberId'),
  // The Graph API base carries the version path.
  WHATSAPP_API_BASE: `${inject('whatsappApiBase')}/v21.0`,
  HEARTH_CORE_JWKS: inject('corePublicJwks'),
});

/** Slack against its fake, in the `edge` project only: `edge-defaults` shows a platform left unset answers 404. */
const slackBindings = (inject: Inject) => ({
  SLACK_SIGNING_SECRET: inject('slackSigningSecret'),
  SLACK_BOT_TOKEN: inject('slackBotToken'),
  SLACK_API_BASE: inject('slackApiBase'),
  SLACK_CHANNEL_INTERVAL_MS: '0',
});

/** Discord against its fake, likewise in the `edge` project only. */
const discordBindings = (inject: Inject) => ({
  DISCORD_PUBLIC_KEY: inject('discordPublicKey'),
  DISCORD_APPLICATION_ID: APPLICATION_ID,
  DISCORD_BOT_TOKEN: inject('discordBotToken'),
  DISCORD_API_BASE: inject('discordApiBase'),
});

/**
 * E-mail in the `edge` project (with EMAIL_ADDRESS and HEARTH_LOG_KEY below): the `send_email`
 * binding bound to a stand-in worker that hands each mail to the loopback fake of global-setup.
 */
const emailBindings = (inject: Inject) => ({
  // Instead of wrangler.jsonc's send_email binding, which only writes files locally.
  email: { send_email: [] },
  serviceBindings: { EMAIL: { name: 'send-email-fake', entrypoint: 'FakeSendEmail' } },
  workers: [
    {
      name: 'send-email-fake',
      modules: true,
      scriptPath: './test/email-binding-worker.js',
      compatibilityDate: '2026-04-20',
      bindings: { FAKE_EMAIL_URL: inject('emailFakeUrl') },
    },
  ],
});

/**
 * Edge tests run inside workerd with the real wrangler.jsonc, in two projects that differ only
 * in bindings (fixed per worker):
 * - `edge`: the mechanics, with everyone let in and no send pacing, so a test about ordering
 *   or retries is not also a test of who may talk or of rate limits;
 * - `edge-defaults` (test/defaults/): the production defaults of both, pairing and the Bot
 *   API's real rate limits, plus the limits that tests need small.
 */
export default defineConfig({
  test: {
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 20_000,
    projects: [
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.jsonc' },
            miniflare: {
              ...emailBindings(inject),
              bindings: {
                ...platformBindings(inject),
                ...slackBindings(inject),
                EMAIL_ADDRESS: inject('emailAddress'),
                HEARTH_LOG_KEY: inject('logKey'),
                ...discordBindings(inject),
                HEARTH_ACCESS_POLICY: 'open',
                TELEGRAM_CHAT_INTERVAL_MS: '0',
                TELEGRAM_GROUP_INTERVAL_MS: '0',
                TELEGRAM_MAX_PER_SECOND: '1000',
                WHATSAPP_MAX_PER_SECOND: '1000',
                // Limits small enough to reach in a test; time-driven rules are run with Relay.sweep(now).
                HEARTH_HEARTBEAT_MS: '60000',
                HEARTH_ACK_TIMEOUT_MS: '10000',
                HEARTH_MAX_ATTEMPTS: '3',
                HEARTH_QUEUE_MAX: '40',
                HEARTH_QUEUE_MAX_PER_SENDER: '10',
                HEARTH_QUEUE_TTL: '3600',
                HEARTH_EXPIRED_NOTICE: 'Sorry, your message expired before I could answer.',
                // Client API limits small enough to reach in a test.
                HEARTH_API_RATE_TOKEN: '20',
                HEARTH_API_RATE_USER: '30',
                HEARTH_HISTORY_TIMEOUT_MS: '2000',
                HEARTH_COMPLETION_TIMEOUT_MS: '5000',
                // Tokens of an identity provider (a fake on loopback) are trusted besides the core's.
                HEARTH_CLIENT_ISSUER: inject('idpIssuer'),
                HEARTH_CLIENT_JWKS_URL: inject('idpJwksUrl'),
                HEARTH_CLIENT_ALGORITHMS: 'RS256',
              },
            },
          })),
        ],
        test: { name: 'edge', include: ['test/*.test.ts'] },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.jsonc' },
            miniflare: {
              bindings: {
                ...platformBindings(inject),
                // Pairing for everyone, except WhatsApp on a static allowlist.
                HEARTH_ACCESS_POLICY_WHATSAPP: 'allowlist',
                HEARTH_ALLOWLIST: 'telegram:7001,whatsapp:16505550100',
                HEARTH_PAIRING_MAX_PENDING: '3',
                HEARTH_PAIRING_TTL: '600',
              },
            },
          })),
        ],
        test: { name: 'edge-defaults', include: ['test/defaults/*.test.ts'] },
      },
    ],
  },
});
