import {
  CLIENT_AUDIENCE,
  CLOCK_SKEW_MS,
  CORE_AUDIENCE,
  CORE_CLIENT_ISSUER,
  keyFor,
  publicKeySet,
  signCoreToken,
  signTunnelToken,
  verifyTunnelToken,
  type CoreKeySet,
} from '@hearth/shared';
import { SELF, runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import type { Relay } from '../src/relay/relay.js';
import { relayFor } from '../src/relay/stub.js';
import { apiFetch, freshUser } from './api-helpers.js';
import { TestTunnel, coreKeys, freshRelay, waitFor } from './helpers.js';

/**
 * Security issue 16, item 5: the core's tokens and client tokens never stand in for each other,
 * a core token opens one connection or request, and a revoked client token stays refused for as
 * long as any verifier would still accept it (its exp plus the clock skew).
 */

const now = () => Math.floor(Date.now() / 1000);
const upgrade = (token: string) => SELF.fetch('https://edge.test/tunnel', { headers: { Upgrade: 'websocket', Authorization: `Bearer ${token}` } });
const deadLetters = (token: string) => SELF.fetch('https://edge.test/admin/dead-letters', { headers: { Authorization: `Bearer ${token}` } });
const reasonOf = async (response: Response) => ((await response.json()) as { error: { message: string } }).error.message;

/** Closes an accepted tunnel at once: these tests are about who gets in. */
function closeTunnel(response: Response): void {
  response.webSocket?.accept();
  response.webSocket?.close(1000, 'done');
}

/**
 * A client token exactly as `hearth token issue` signs one (core key, `iss: hearth`, `typ:
 * at+jwt`, scopes, jti), for any audience: what an edge or CLI that let a reserved audience
 * through would have produced. Parts can be left out to test each client claim on its own.
 */
async function clientTokenFor(audience: string, { keys = coreKeys(), iss = true, typ = true }: { keys?: CoreKeySet; iss?: boolean; typ?: boolean } = {}) {
  const jwk = keyFor(keys, 'sig');
  const key = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] } as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const jwt = new SignJWT({ scope: 'chat:read chat:write sync admin' })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: typ ? 'at+jwt' : 'JWT' })
    .setSubject('core-a')
    .setAudience(audience)
    .setJti(crypto.randomUUID())
    .setIssuedAt()
    .setExpirationTime('10m');
  return (iss ? jwt.setIssuer(CORE_CLIENT_ISSUER) : jwt).sign(key);
}

describe('reserved audiences', () => {
  it.each(Object.values(CORE_AUDIENCE))('HEARTH_CLIENT_AUDIENCE=%s is refused, saying it is reserved for the core', (audience) => {
    expect(() => loadConfig({ ...env, HEARTH_CLIENT_AUDIENCE: audience } as Env)).toThrow(
      new RegExp(`HEARTH_CLIENT_AUDIENCE cannot be ${audience}: hearth:tunnel and hearth:admin are reserved for the core's own tokens`),
    );
  });

  it('any other audience is still the deployment\'s to choose', () => {
    expect(loadConfig({ ...env, HEARTH_CLIENT_AUDIENCE: 'https://hearth.example' } as Env).api.audience).toBe('https://hearth.example');
  });
});

describe('a client token at the core routes', () => {
  it.each<[string, { iss?: boolean; typ?: boolean }, RegExp]>([
    ['as issued (iss, typ at+jwt, scope)', {}, /this is a client token \(header typ at\+jwt, iss, scope\)/],
    ['without typ at+jwt', { typ: false }, /this is a client token \(iss, scope\)/],
    ['without iss', { iss: false }, /this is a client token \(header typ at\+jwt, scope\)/],
  ])('signed by the core key for hearth:tunnel, %s: 401 with the reason, never a socket', async (_name, parts, reason) => {
    const response = await upgrade(await clientTokenFor(CORE_AUDIENCE.tunnel, parts));
    expect(response.status).toBe(401);
    expect(response.webSocket).toBeNull();
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="hearth-tunnel"');
    expect(await reasonOf(response)).toMatch(reason);
  });

  it('signed by the core key for hearth:admin: 401 at the admin routes', async () => {
    const response = await deadLetters(await clientTokenFor(CORE_AUDIENCE.admin));
    expect(response.status).toBe(401);
    expect(await reasonOf(response)).toMatch(/this is a client token/);
  });

  it('an ordinary client token (hearth:api) at the tunnel is named as such too', async () => {
    const response = await upgrade(await clientTokenFor(CLIENT_AUDIENCE));
    expect(response.status).toBe(401);
    expect(await reasonOf(response)).toMatch(/this is a client token/);
  });
});

describe('core tokens are used once', () => {
  it('every token the core signs has its own jti', async () => {
    const [a, b] = await Promise.all([signTunnelToken(coreKeys(), 'core-a'), signTunnelToken(coreKeys(), 'core-a')]);
    const [first, second] = await Promise.all([verifyTunnelToken(a, publicKeySet(coreKeys())), verifyTunnelToken(b, publicKeySet(coreKeys()))]);
    expect(first.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(second.jti).not.toBe(first.jti);
  });

  it('a tunnel token replayed within its lifetime: 401 "already used", and the first tunnel stays up', async () => {
    const token = await signTunnelToken(coreKeys(), 'core-once');
    const first = await upgrade(token);
    expect(first.status).toBe(101);
    const tunnel = first.webSocket!;
    tunnel.accept();
    const replay = await upgrade(token);
    expect(replay.status).toBe(401);
    expect(replay.webSocket).toBeNull();
    expect(await reasonOf(replay)).toMatch(/already used/);
    // The first connection is not disturbed by the refused replay.
    const frames: string[] = [];
    tunnel.addEventListener('message', (event) => frames.push(String(event.data)));
    tunnel.send(JSON.stringify({ v: 1, type: 'hello', core_id: 'core-once', credits: 0 }));
    await waitFor(async () => (frames.some((f) => f.includes('"welcome"')) ? true : undefined), 'the welcome');
    tunnel.close(1000, 'done');
  });

  it('the same token offered twice at once opens one tunnel, not two (the Relay decides, one event at a time)', async () => {
    const token = await signTunnelToken(coreKeys(), 'core-race');
    const answers = await Promise.all([upgrade(token), upgrade(token), upgrade(token)]);
    expect(answers.map((r) => r.status).sort()).toEqual([101, 401, 401]);
    for (const answer of answers) closeTunnel(answer);
  });

  it('an admin token replayed: the first request answers, the replay gets 401', async () => {
    const token = await signCoreToken(coreKeys(), 'core-a', 'admin');
    expect((await deadLetters(token)).status).toBe(200);
    const replay = await deadLetters(token);
    expect(replay.status).toBe(401);
    expect(await reasonOf(replay)).toMatch(/already used/);
  });

  it('a core that reconnects is let in every time: each connection brings a fresh token', async () => {
    for (let i = 0; i < 3; i++) {
      const tunnel = await TestTunnel.viaRoute('core-again');
      await tunnel.hello(0, 'core-again');
      tunnel.close();
    }
  });

  it('a token without a jti (a core from before this rule) is refused with the reason', async () => {
    const jwk = keyFor(coreKeys(), 'sig');
    const key = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] } as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'JWT' }).setSubject('core-a').setAudience(CORE_AUDIENCE.tunnel).setIssuedAt().setExpirationTime('1m').sign(key);
    const response = await upgrade(token);
    expect(response.status).toBe(401);
    expect(await reasonOf(response)).toMatch(/token has no jti/);
  });

  it('a used jti is remembered until its token would be refused anyway (accepted until + skew), then forgotten', async () => {
    const { stub } = freshRelay('seen-jti');
    const token = { jti: crypto.randomUUID(), acceptedUntil: now() + 60 };
    expect(await stub.claimCoreToken(token)).toBe(true);
    expect(await stub.claimCoreToken(token)).toBe(false);
    const sweep = (at: number) => runInDurableObject(stub, (relay: Relay) => relay.sweep(at));
    const seen = () => runInDurableObject(stub, (_relay, state) => state.storage.sql.exec('SELECT 1 FROM seen_core_tokens WHERE jti = ?', token.jti).toArray().length);
    // Past exp but within the skew the verifier still accepts it: the record must hold.
    await sweep(token.acceptedUntil * 1000 + CLOCK_SKEW_MS - 1_000);
    expect(await seen()).toBe(1);
    expect(await stub.claimCoreToken(token)).toBe(false);
    await sweep(token.acceptedUntil * 1000 + CLOCK_SKEW_MS + 1_000);
    expect(await seen()).toBe(0);
  });
});

describe('a revoked client token stays revoked through the clock skew', () => {
  /** A core-issued client token that expired `agoSeconds` ago: still inside the verifier's skew. */
  async function expiredWithinSkew(user: string, agoSeconds: number) {
    const jwk = keyFor(coreKeys(), 'sig');
    const key = await crypto.subtle.importKey('jwk', { ...jwk, key_ops: ['sign'] } as JsonWebKey, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
    const jti = crypto.randomUUID();
    const exp = now() - agoSeconds;
    const token = await new SignJWT({ scope: 'chat:read' })
      .setProtectedHeader({ alg: 'ES256', kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(CORE_CLIENT_ISSUER)
      .setAudience(CLIENT_AUDIENCE)
      .setSubject(user)
      .setJti(jti)
      .setIssuedAt(exp - 600)
      .setExpirationTime(exp)
      .sign(key);
    return { token, jti, exp };
  }

  async function revokeOverTunnel(jti: string, exp: number, tunnel: TestTunnel) {
    tunnel.send({ type: 'access', request_id: `revoke-${jti}`, command: { action: 'revoke_token', jti, expires_at: exp } });
    expect(await tunnel.next('access_result')).toMatchObject({ ok: true, token_revoked: true });
  }

  it('at /v1: a token past exp but within the skew, revoked, is still refused after the Relay sweeps', async () => {
    const revoked = await expiredWithinSkew(freshUser('skew'), 10);
    // Within the skew, the verifier still takes it: so must the revocation.
    expect((await apiFetch('/v1/models', revoked.token)).status).toBe(200);
    const owner = await TestTunnel.viaRoute('owner-skew.owner');
    await owner.hello(0, 'owner-skew.owner');
    await revokeOverTunnel(revoked.jti, revoked.exp, owner);
    owner.close();
    // The alarm's sweep, as of now: the token's exp has passed, its skew has not.
    await runInDurableObject(relayFor(env), (relay: Relay) => relay.sweep(Date.now()));
    const refused = await apiFetch('/v1/models', revoked.token);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: 'revoked' } });
  });

  it('in the Relay: the record is kept until exp + skew, then pruned', async () => {
    const { name, stub } = freshRelay('revoked-skew');
    const { jti, exp } = await expiredWithinSkew(freshUser('skew'), 5);
    const owner = await TestTunnel.toRelay(name, 'owner.owner');
    await owner.hello(0, 'owner.owner');
    await revokeOverTunnel(jti, exp, owner);
    owner.close();
    const admit = () => stub.admitClient({ user: 'u', tokenKey: jti, jti });
    const sweep = (at: number) => runInDurableObject(stub, (relay: Relay) => relay.sweep(at));
    await sweep(exp * 1000 + CLOCK_SKEW_MS - 1_000);
    expect(await admit()).toMatchObject({ ok: false, code: 'revoked' });
    await sweep(exp * 1000 + CLOCK_SKEW_MS + 1_000);
    // Forgotten only once the verifier refuses the token on its exp alone.
    expect(await admit()).toEqual({ ok: true });
  });
});
