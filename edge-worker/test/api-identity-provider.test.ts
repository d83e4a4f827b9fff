import { CLIENT_AUDIENCE } from '@hearth/shared';
import { SignJWT, importJWK, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { apiFetch, freshUser } from './api-helpers.js';
import { coreKeys } from './helpers.js';

/** Signs as the identity provider (its key came from global-setup, where the fake runs). */
async function idpToken(claims: Record<string, unknown>, alg = 'RS256') {
  const jwk = JSON.parse(inject('idpPrivateJwk')) as JWK;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: inject('idpIssuer'), aud: CLIENT_AUDIENCE, iat: now, exp: now + 300, scope: 'chat:read', ...claims })
    .setProtectedHeader({ alg, kid: 'idp-key-1' })
    .sign(await importJWK(jwk, alg));
}

const jwksFetches = async () => ((await (await fetch(`${inject('idpIssuer')}/__calls`)).json()) as { path: string }[]).length;

describe('tokens of the configured identity provider', () => {
  it('are accepted, their keys fetched from its JWKS URL once and then cached', async () => {
    const before = await jwksFetches();
    for (let i = 0; i < 3; i++) {
      const response = await apiFetch('/v1/models', await idpToken({ sub: freshUser('idp') }));
      expect(response.status).toBe(200);
    }
    expect((await jwksFetches()) - before).toBeLessThanOrEqual(1);
  });

  it('read scopes from scp as well, and are refused a scope they lack', async () => {
    const token = await idpToken({ sub: freshUser('idp'), scope: undefined, scp: ['chat:read'] });
    expect((await apiFetch('/v1/models', token)).status).toBe(200);
    const post = await apiFetch('/v1/messages', token, { method: 'POST', body: JSON.stringify({ conversation_id: 'c', text: 'x' }) });
    expect(post.status).toBe(403);
  });

  it('are refused when signed with the core key under the provider\'s issuer, or with another algorithm than pinned', async () => {
    // The core's ES256 key is not the provider's, and ES256 is not in HEARTH_CLIENT_ALGORITHMS.
    const jwk = coreKeys().keys.find((k) => k.use === 'sig')!;
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ iss: inject('idpIssuer'), aud: CLIENT_AUDIENCE, sub: 'eve', exp: now + 60, scope: 'chat:read' })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid })
      .sign(await importJWK(jwk as JWK, 'ES256'));
    expect((await apiFetch('/v1/models', forged)).status).toBe(401);
    // PS256 with the provider's own RSA key is still not the pinned RS256.
    expect((await apiFetch('/v1/models', await idpToken({ sub: 'eve' }, 'PS256'))).status).toBe(401);
  });
});
