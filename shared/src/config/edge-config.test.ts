import { beforeAll, describe, expect, it } from 'vitest';
import { generateCoreKeySet, publicKeySet } from '../crypto/core-keys.js';
import { parseEdgeConfig } from './edge-config.js';

let jwks: string;
beforeAll(async () => {
  jwks = JSON.stringify(publicKeySet(await generateCoreKeySet()));
});

const telegram = { TELEGRAM_WEBHOOK_SECRET: 'a-secret-of-enough-length', TELEGRAM_BOT_TOKEN: '1:abc' };
const whatsapp = {
  WHATSAPP_VERIFY_TOKEN: 'verify-me',
  WHATSAPP_APP_SECRET: 'app-secret',
  WHATSAPP_ACCESS_TOKEN: 'EAAG-token',
  WHATSAPP_PHONE_NUMBER_ID: '1234567890',
};

describe('parseEdgeConfig', () => {
  it('accepts Telegram alone and applies defaults', () => {
    const result = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks, TELEGRAM_API_BASE: 'http://127.0.0.1:9000/' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.telegram).toEqual({
      webhookSecret: 'a-secret-of-enough-length',
      botToken: '1:abc',
      apiBase: 'http://127.0.0.1:9000',
      botUsername: undefined,
      groupMode: 'addressed',
      pacing: { chatIntervalMs: 1_000, groupIntervalMs: 3_000, maxPerSecond: 30 },
    });
    expect(result.config.whatsapp).toBeUndefined();
    expect(result.config.delivery).toEqual({
      heartbeatMs: 15_000,
      silenceMs: 37_500,
      ackTimeoutMs: 120_000,
      maxAttempts: 5,
      queueMax: 10_000,
      queueMaxPerSender: 1_000,
      queueTtlMs: 7 * 86_400_000,
      expiredNotice: undefined,
    });
  });

  it('accepts WhatsApp alone, with the Graph API version in its base', () => {
    const result = parseEdgeConfig({ ...whatsapp, HEARTH_CORE_JWKS: jwks });
    expect(result.ok && result.config.telegram).toBeUndefined();
    expect(result.ok && result.config.whatsapp).toEqual({
      verifyToken: 'verify-me',
      appSecret: 'app-secret',
      accessToken: 'EAAG-token',
      phoneNumberId: '1234567890',
      apiBase: 'https://graph.facebook.com/v21.0',
      maxPerSecond: 80,
    });
  });

  it('accepts Slack alone, with its defaults, and leaves it off when unset', () => {
    const result = parseEdgeConfig({
      SLACK_SIGNING_SECRET: 'signing-secret',
      SLACK_BOT_TOKEN: 'xoxb-1-2-abc',
      HEARTH_CORE_JWKS: jwks,
      HEARTH_ACCESS_POLICY_SLACK: 'allowlist',
      HEARTH_ALLOWLIST: 'slack:U024BE7LH',
    });
    expect(result.ok && result.config.slack).toEqual({
      signingSecret: 'signing-secret',
      botToken: 'xoxb-1-2-abc',
      apiBase: 'https://slack.com/api',
      channelIntervalMs: 1_000,
    });
    expect(result.ok && result.config.access.overrides).toEqual({ slack: 'allowlist' });
    expect(result.ok && [...result.config.access.allowlist]).toEqual(['slack:U024BE7LH']);
    const unset = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks, SLACK_API_BASE: 'http://127.0.0.1:9/' });
    expect(unset.ok && unset.config.slack).toBeUndefined();
  });

  it('turns e-mail on with EMAIL_ADDRESS (lower-cased), which needs HEARTH_LOG_KEY, and takes email: senders', () => {
    const result = parseEdgeConfig({
      EMAIL_ADDRESS: 'Hearth@Example.com',
      HEARTH_LOG_KEY: 'a-log-key-of-16-chars',
      HEARTH_CORE_JWKS: jwks,
      HEARTH_ACCESS_POLICY_EMAIL: 'allowlist',
      HEARTH_ALLOWLIST: 'email:ada@example.com',
    });
    expect(result.ok && result.config.email?.address).toBe('hearth@example.com');
    expect(result.ok && result.config.email?.contextKey).toHaveLength(32);
    expect(result.ok && result.config.access.overrides).toEqual({ email: 'allowlist' });
    expect(result.ok && [...result.config.access.allowlist]).toEqual(['email:ada@example.com']);
    const withoutKey = parseEdgeConfig({ EMAIL_ADDRESS: 'hearth@example.com', HEARTH_CORE_JWKS: jwks });
    expect(withoutKey.ok ? [] : withoutKey.problems).toEqual([expect.stringContaining('HEARTH_LOG_KEY is missing (EMAIL_ADDRESS needs it')]);
    expect(parseEdgeConfig({ EMAIL_ADDRESS: 'not an address', HEARTH_LOG_KEY: 'a-log-key-of-16-chars', HEARTH_CORE_JWKS: jwks }).ok).toBe(false);
    const unset = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks });
    expect(unset.ok && unset.config.email).toBeUndefined();
  });

  it('names what a half-set Slack lacks', () => {
    const result = parseEdgeConfig({ SLACK_SIGNING_SECRET: 'signing-secret', HEARTH_CORE_JWKS: jwks });
    expect(result.ok ? [] : result.problems).toEqual([expect.stringContaining('SLACK_BOT_TOKEN is missing (Slack needs SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN)')]);
  });

  it('accepts Discord alone, with its API base by default, and names what a half-set one lacks', () => {
    const discord = { DISCORD_PUBLIC_KEY: 'AB'.repeat(32), DISCORD_APPLICATION_ID: '1234567890123456789', DISCORD_BOT_TOKEN: 'bot-token' };
    const result = parseEdgeConfig({ ...discord, HEARTH_CORE_JWKS: jwks, HEARTH_ALLOWLIST: 'discord:80351110224678912' });
    expect(result.ok && result.config.discord).toEqual({
      publicKey: 'ab'.repeat(32),
      applicationId: '1234567890123456789',
      botToken: 'bot-token',
      apiBase: 'https://discord.com/api/v10',
    });
    expect(result.ok && [...result.config.access.allowlist]).toEqual(['discord:80351110224678912']);
    const half = parseEdgeConfig({ DISCORD_PUBLIC_KEY: discord.DISCORD_PUBLIC_KEY, HEARTH_CORE_JWKS: jwks });
    expect(half.ok ? [] : half.problems).toEqual([
      expect.stringContaining('DISCORD_APPLICATION_ID is missing (Discord needs'),
      expect.stringContaining('DISCORD_BOT_TOKEN is missing (Discord needs'),
    ]);
    const badKey = parseEdgeConfig({ ...discord, DISCORD_PUBLIC_KEY: 'not-hex', HEARTH_CORE_JWKS: jwks });
    expect(badKey.ok ? [] : badKey.problems).toEqual([expect.stringContaining('DISCORD_PUBLIC_KEY must be')]);
  });

  it('names what a half-set platform lacks, and how to set it', () => {
    const result = parseEdgeConfig({ TELEGRAM_BOT_TOKEN: '1:abc', WHATSAPP_APP_SECRET: 'x', HEARTH_CORE_JWKS: jwks });
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('TELEGRAM_WEBHOOK_SECRET is missing (Telegram needs'),
        expect.stringContaining('WHATSAPP_VERIFY_TOKEN is missing (WhatsApp needs'),
        expect.stringContaining('wrangler secret put WHATSAPP_PHONE_NUMBER_ID'),
      ]),
    );
  });

  it('needs the core key; a platform is optional (the client API alone is a deployment)', () => {
    const result = parseEdgeConfig({ TELEGRAM_BOT_TOKEN: '' });
    const problems = result.ok ? [] : result.problems;
    expect(problems).toEqual([expect.stringMatching(/^HEARTH_CORE_JWKS is missing.*wrangler secret put HEARTH_CORE_JWKS/)]);
    const apiOnly = parseEdgeConfig({ HEARTH_CORE_JWKS: jwks, TELEGRAM_BOT_TOKEN: '' });
    expect(apiOnly.ok && { telegram: apiOnly.config.telegram, whatsapp: apiOnly.config.whatsapp }).toEqual({ telegram: undefined, whatsapp: undefined });
  });

  it('rejects a secret Telegram would not accept and a key set that is not one', () => {
    const weak = parseEdgeConfig({ TELEGRAM_WEBHOOK_SECRET: 'short', TELEGRAM_BOT_TOKEN: 'x', HEARTH_CORE_JWKS: '{}' });
    expect(weak.ok ? [] : weak.problems).toEqual([expect.stringContaining('16-256 characters')]);
    const badKeys = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: '{}' });
    expect(badKeys.ok ? [] : badKeys.problems).toEqual([expect.stringContaining('npx hearth keygen')]);
  });

  it('lets in nobody unknown by default: pairing, with codes that expire and few pending', () => {
    const result = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks });
    expect(result.ok && result.config.access).toEqual({
      defaultPolicy: 'pairing',
      overrides: {},
      allowlist: new Set(),
      pairingTtlMs: 3_600_000,
      pairingMaxPending: 3,
    });
  });

  it('reads a per-platform policy override and the allowlist', () => {
    const result = parseEdgeConfig({
      ...telegram,
      HEARTH_CORE_JWKS: jwks,
      HEARTH_ACCESS_POLICY: 'allowlist',
      HEARTH_ACCESS_POLICY_WHATSAPP: 'open',
      HEARTH_ALLOWLIST: ' telegram:42, whatsapp:15551234567 ,',
    });
    expect(result.ok && result.config.access.defaultPolicy).toBe('allowlist');
    expect(result.ok && result.config.access.overrides).toEqual({ whatsapp: 'open' });
    expect(result.ok && [...result.config.access.allowlist]).toEqual(['telegram:42', 'whatsapp:15551234567']);
  });

  it('names a bad policy and a bad allowlist entry', () => {
    const result = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks, HEARTH_ACCESS_POLICY_TELEGRAM: 'everyone', HEARTH_ALLOWLIST: '42' });
    expect(result.ok ? [] : result.problems).toEqual([
      'HEARTH_ACCESS_POLICY_TELEGRAM must be open, allowlist or pairing',
      expect.stringContaining('HEARTH_ALLOWLIST: "42" is not platform:id'),
    ]);
  });

  it("refuses Telegram's placeholder users in the allowlist: anyone anonymous anywhere would be let in", () => {
    for (const placeholder of ['telegram:1087968824', 'telegram:136817688', 'telegram:777000']) {
      const result = parseEdgeConfig({ ...telegram, HEARTH_CORE_JWKS: jwks, HEARTH_ALLOWLIST: `telegram:42,${placeholder}` });
      expect(result.ok ? [] : result.problems).toEqual([expect.stringContaining(`${placeholder} is Telegram's placeholder`)]);
    }
  });
});
