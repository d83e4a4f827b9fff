import { describe, expect, it } from 'vitest';
import { generateCoreKeySet, publicKeySet } from '../crypto/core-keys.js';
import { parseEdgeConfig } from './edge-config.js';

describe('parseEdgeConfig', () => {
  it('accepts a complete configuration and applies defaults', async () => {
    const jwks = JSON.stringify(publicKeySet(await generateCoreKeySet()));
    const result = parseEdgeConfig({
      TELEGRAM_WEBHOOK_SECRET: 'a-secret-of-enough-length',
      TELEGRAM_BOT_TOKEN: '1:abc',
      HEARTH_CORE_JWKS: jwks,
      TELEGRAM_API_BASE: 'http://127.0.0.1:9000/',
    });
    expect(result.ok && result.config.telegram.apiBase).toBe('http://127.0.0.1:9000');
    expect(result.ok && result.config.delivery).toEqual({
      heartbeatMs: 15_000,
      silenceMs: 37_500,
      ackTimeoutMs: 120_000,
      maxAttempts: 5,
      queueMax: 10_000,
      queueTtlMs: 7 * 86_400_000,
      expiredNotice: undefined,
    });
  });

  it('names every missing variable and how to set it', () => {
    const result = parseEdgeConfig({ TELEGRAM_BOT_TOKEN: '' });
    expect(result.ok).toBe(false);
    const problems = result.ok ? [] : result.problems;
    for (const name of ['TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'HEARTH_CORE_JWKS']) {
      expect(problems.find((p) => p.startsWith(`${name} is missing`))).toContain(`wrangler secret put ${name}`);
    }
  });

  it('rejects a secret Telegram would not accept and a key set that is not one', () => {
    const weak = parseEdgeConfig({ TELEGRAM_WEBHOOK_SECRET: 'short', TELEGRAM_BOT_TOKEN: 'x', HEARTH_CORE_JWKS: '{}' });
    expect(weak.ok ? [] : weak.problems).toEqual([expect.stringContaining('16-256 characters')]);
    const badKeys = parseEdgeConfig({ TELEGRAM_WEBHOOK_SECRET: 'a-secret-of-enough-length', TELEGRAM_BOT_TOKEN: 'x', HEARTH_CORE_JWKS: '{}' });
    expect(badKeys.ok ? [] : badKeys.problems).toEqual([expect.stringContaining('npx hearth keygen')]);
  });
});
