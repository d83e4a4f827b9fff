import { CLIENT_AUDIENCE, CORE_CLIENT_ISSUER, generateCoreKeySet, keyFor } from '@hearth/shared';
import { SignJWT, base64url } from 'jose';
import { describe, expect, it } from 'vitest';
import { apiFetch, clientToken, freshUser } from './api-helpers.js';
import { TestTunnel, coreKeys } from './helpers.js';

const unsigned = (claims: Record<string, unknown>, header: Record<string, unknown> = { alg: 'none', typ: 'JWT' }) =>
  `${base64url.encode(JSON.stringify(header))}.${base64url.encode(JSON.stringify(claims))}.`;

const now = () => Math.floor(Date.now() / 1000);
const claimsFor = (user: string, extra: Record<string, unknown> = {}) => ({
  iss: CORE_CLIENT_ISSUER,
  aud: CLIENT_AUDIENCE,
  sub: user,
  scope: 'chat:read chat:write sync admin',
  iat: now(),
  exp: now() + 600,
  jti: crypto.randomUUID(),
  ...extra,
});

/** Signs claims with the core's real signing key, as an attacker cannot, to vary one claim at a time. */
async function signed(claims: Record<string, unknown>) {
  const jwk = keyFor(coreKeys(), 'sig');
  const key = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] } as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  return new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: jwk.kid }).sign(key);
}

/** HS256 "signed" with the core's public key as the secret: the RS/HS confusion attack. */
async function hmacWithPublicKey(claims: Record<string, unknown>) {
  const publicJwk = JSON.stringify(keyFor(coreKeys(), 'sig'));
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(publicJwk));
}

describe('client tokens at /v1: the attack matrix', () => {
  it('answers 401 with a Bearer challenge when there is no token', async () => {
    const response = await apiFetch('/v1/models', null);
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toMatch(/^Bearer realm="hearth"/);
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'missing_token', type: 'authentication_error' } });
  });

  const user = freshUser('attacker');
  it.each<[string, () => Promise<string>]>([
    ['that is not a JWT', async () => 'not-a-token'],
    ['with alg none', async () => unsigned(claimsFor(user))],
    ['HS256-signed with the public key (algorithm confusion)', () => hmacWithPublicKey(claimsFor(user))],
    ['signed by another key', async () => (await clientToken(user, ['chat:read'], { keys: await generateCoreKeySet() })).token],
    ['expired', () => signed(claimsFor(user, { exp: now() - 120 }))],
    ['not valid yet', () => signed(claimsFor(user, { nbf: now() + 600 }))],
    ['for another audience', () => signed(claimsFor(user, { aud: 'someone-else' }))],
    ['from an unknown issuer', () => signed(claimsFor(user, { iss: 'https://evil.example' }))],
    ['without a subject', () => signed({ ...claimsFor(user), sub: undefined })],
    ['with a subject that is not a user id', () => signed(claimsFor('ada:admin'))],
    ['with a forged signature', async () => {
      const { token } = await clientToken(user);
      return `${token.slice(0, token.lastIndexOf('.'))}.${base64url.encode(new Uint8Array(64))}`;
    }],
  ])('refuses a token %s with 401 invalid_token', async (_name, token) => {
    const response = await apiFetch('/v1/models', await token());
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toContain('error="invalid_token"');
    expect(await response.json()).toMatchObject({ ok: false, error: { code: 'invalid_token' } });
  });

  it('accepts a token within the clock skew', async () => {
    const response = await apiFetch('/v1/models', await signed(claimsFor(freshUser(), { exp: now() - 10 })));
    expect(response.status).toBe(200);
  });

  it('answers 403 insufficient_scope to a token without the route\'s scope (no escalation by claiming other scopes)', async () => {
    const { token } = await clientToken(freshUser(), ['chat:read']);
    const post = await apiFetch('/v1/messages', token, { method: 'POST', body: JSON.stringify({ conversation_id: 'c1', text: 'hi' }) });
    expect(post.status).toBe(403);
    expect(post.headers.get('WWW-Authenticate')).toContain('error="insufficient_scope"');
    expect(await post.json()).toMatchObject({ error: { code: 'insufficient_scope', type: 'permission_error' } });
    const admin = await apiFetch('/v1/admin/status', (await clientToken(freshUser(), ['chat:read', 'chat:write', 'sync'])).token);
    expect(admin.status).toBe(403);
    // Unknown scopes grant nothing.
    const odd = await signed(claimsFor(freshUser(), { scope: 'chat:* admin:all' }));
    expect((await apiFetch('/v1/models', odd)).status).toBe(403);
  });

  it('refuses a token the owner revoked over the tunnel, and only that one', async () => {
    const owner = freshUser('revoked');
    const revoked = await clientToken(owner);
    const other = await clientToken(owner);
    expect((await apiFetch('/v1/models', revoked.token)).status).toBe(200);

    const tunnel = await TestTunnel.viaRoute('owner-cli.owner');
    await tunnel.hello(0, 'owner-cli.owner');
    tunnel.send({ type: 'access', request_id: 'r1', command: { action: 'revoke_token', jti: revoked.jti, expires_at: revoked.expiresAt } });
    expect(await tunnel.next('access_result')).toMatchObject({ ok: true, token_revoked: true });
    tunnel.send({ type: 'access', request_id: 'r2', command: { action: 'revoke_token', jti: revoked.jti, expires_at: revoked.expiresAt } });
    expect(await tunnel.next('access_result')).toMatchObject({ ok: true, token_revoked: false });
    tunnel.close();

    const refused = await apiFetch('/v1/models', revoked.token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'revoked' } });
    expect((await apiFetch('/v1/models', other.token)).status).toBe(200);
  });

  it('admits the admin scope to the edge status', async () => {
    const { token } = await clientToken(freshUser(), ['admin']);
    const response = await apiFetch('/v1/admin/status', token);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ pending: expect.any(Number), cores: expect.any(Array) });
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After once a token spent its rate, and lets another token of the user on', async () => {
    const user = freshUser('busy');
    const { token } = await clientToken(user);
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 25; i++) {
      const response = await apiFetch('/v1/models', token);
      statuses.push(response.status);
      if (response.status === 429) {
        retryAfter = response.headers.get('Retry-After');
        expect(await response.json()).toMatchObject({ error: { code: 'rate_limited', type: 'rate_limit_error' } });
      }
    }
    // HEARTH_API_RATE_TOKEN is 20 in this project (vitest.config.ts), the user's 30.
    expect(statuses.filter((s) => s === 200)).toHaveLength(20);
    expect(statuses.slice(20)).toEqual([429, 429, 429, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    // The user has 10 left across their tokens; refused requests did not count.
    const second = await clientToken(user);
    const more = await Promise.all(Array.from({ length: 12 }, () => apiFetch('/v1/models', second.token).then((r) => r.status)));
    expect(more.filter((s) => s === 200)).toHaveLength(10);
    expect(more.filter((s) => s === 429)).toHaveLength(2);
  });
});
