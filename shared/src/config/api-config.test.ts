import { describe, expect, it } from 'vitest';
import { generateCoreKeySet, publicKeySet } from '../crypto/core-keys.js';
import { parseEdgeConfig } from './edge-config.js';

const base = async () => ({
  TELEGRAM_WEBHOOK_SECRET: 'a-webhook-secret-0123456789',
  TELEGRAM_BOT_TOKEN: '1:abc',
  HEARTH_CORE_JWKS: JSON.stringify(publicKeySet(await generateCoreKeySet())),
});
const problemsOf = (result: ReturnType<typeof parseEdgeConfig>) => (result.ok ? [] : result.problems);

describe('client API settings', () => {
  it('default to core-issued tokens only, with rate limits', async () => {
    const result = parseEdgeConfig(await base());
    expect(result.ok && result.config.api).toEqual({
      audience: 'hearth:api',
      identityProvider: undefined,
      ratePerUser: 120,
      ratePerToken: 60,
      streamsPerUser: 20,
      streamsPerToken: 5,
      historyTimeoutMs: 10_000,
      completionTimeoutMs: 120_000,
    });
  });

  it('trust an identity provider given its issuer and keys', async () => {
    const result = parseEdgeConfig({ ...(await base()), HEARTH_CLIENT_ISSUER: 'https://idp.example', HEARTH_CLIENT_JWKS_URL: 'https://idp.example/jwks.json', HEARTH_CLIENT_ALGORITHMS: 'RS256' });
    expect(result.ok && result.config.api.identityProvider).toEqual({ issuer: 'https://idp.example', jwks: undefined, jwksUrl: 'https://idp.example/jwks.json', algorithms: ['RS256'] });
  });

  it.each([
    [{ HEARTH_CLIENT_ALGORITHMS: 'RS256,HS256' }, '"HS256" is not allowed'],
    [{ HEARTH_CLIENT_ALGORITHMS: 'none' }, '"none" is not allowed'],
    [{ HEARTH_CLIENT_JWKS_URL: 'https://idp.example/jwks.json' }, 'HEARTH_CLIENT_ISSUER is missing'],
    [{ HEARTH_CLIENT_ISSUER: 'https://idp.example' }, 'neither HEARTH_CLIENT_JWKS nor HEARTH_CLIENT_JWKS_URL'],
    [{ HEARTH_CLIENT_ISSUER: 'https://idp.example', HEARTH_CLIENT_JWKS_URL: 'http://idp.example/jwks.json' }, 'http only on loopback'],
    [{ HEARTH_CLIENT_ISSUER: 'i', HEARTH_CLIENT_JWKS: '{"keys":' }, 'HEARTH_CLIENT_JWKS is not JSON'],
    [{ HEARTH_CLIENT_ISSUER: 'i', HEARTH_CLIENT_JWKS: '{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}' }, 'public keys only'],
    [{ HEARTH_API_RATE_USER: '0' }, 'HEARTH_API_RATE_USER must be at least 1'],
  ])('refuse %o, saying why', async (vars, problem) => {
    expect(problemsOf(parseEdgeConfig({ ...(await base()), ...vars }))).toEqual([expect.stringContaining(problem)]);
  });
});
