import { env } from 'cloudflare:workers';
import { describe, expect, it, vi } from 'vitest';
import { app } from '../src/app.js';
import { EdgeConfigError, loadConfig } from '../src/config.js';
import { textUpdate } from './helpers.js';

describe('edge configuration', () => {
  it('validates the bindings once and reuses the result', () => {
    expect(loadConfig(env)).toBe(loadConfig(env));
    expect(loadConfig(env).telegram?.apiBase).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers 503 with Retry-After while a secret is missing, and logs which one and how to set it', async () => {
    const broken = { ...env, TELEGRAM_WEBHOOK_SECRET: '' };
    expect(() => loadConfig(broken)).toThrow(EdgeConfigError);
    const warn = vi.spyOn(console, 'error');
    const response = await app.request(
      '/webhooks/telegram',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(textUpdate(1, 'hi')) },
      broken,
    );
    // 503, not 4xx: Telegram keeps the update and retries once the edge is fixed.
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('30');
    expect(await response.json()).toMatchObject({ error: { code: 'unavailable' } });
    const logged = warn.mock.calls.map((args) => String(args[0])).join('\n');
    expect(logged).toContain('TELEGRAM_WEBHOOK_SECRET is missing');
    expect(logged).toContain('wrangler secret put TELEGRAM_WEBHOOK_SECRET');
    warn.mockRestore();
  });

  it('names a bad log level like any other setting', () => {
    expect(() => loadConfig({ ...env, HEARTH_LOG_LEVEL: 'loud' })).toThrow(/HEARTH_LOG_LEVEL must be debug, info, warn or error/);
  });

  it('keeps answering health checks while misconfigured', async () => {
    const response = await app.request('/healthz', {}, { ...env, HEARTH_CORE_JWKS: '' });
    expect(response.status).toBe(200);
  });
});
