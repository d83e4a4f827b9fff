import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

/**
 * Edge tests run inside workerd with the real wrangler.jsonc. The fake Telegram Bot API and
 * the core's key set come from global-setup (Node side) through `provide`/`inject`.
 */
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      wrangler: { configPath: './wrangler.jsonc' },
      miniflare: {
        bindings: {
          TELEGRAM_WEBHOOK_SECRET: inject('webhookSecret'),
          TELEGRAM_BOT_TOKEN: inject('botToken'),
          TELEGRAM_API_BASE: inject('telegramApiBase'),
          // WhatsApp against the fake Graph API (global-setup); the base carries the version path.
          WHATSAPP_VERIFY_TOKEN: inject('whatsappVerifyToken'),
          WHATSAPP_APP_SECRET: inject('whatsappAppSecret'),
          WHATSAPP_ACCESS_TOKEN: inject('whatsappAccessToken'),
          WHATSAPP_PHONE_NUMBER_ID: inject('whatsappPhoneNumberId'),
          WHATSAPP_API_BASE: `${inject('whatsappApiBase')}/v21.0`,
          HEARTH_CORE_JWKS: inject('corePublicJwks'),
          // Limits small enough to reach in a test; time-driven rules are run with Relay.sweep(now).
          HEARTH_HEARTBEAT_MS: '60000',
          HEARTH_ACK_TIMEOUT_MS: '10000',
          HEARTH_MAX_ATTEMPTS: '3',
          HEARTH_QUEUE_MAX: '40',
          HEARTH_QUEUE_TTL: '3600',
          HEARTH_EXPIRED_NOTICE: 'Sorry, your message expired before I could answer.',
        },
      },
    })),
  ],
  test: {
    globalSetup: ['./test/global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
  },
});
