import { SignJWT, UnsecuredJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { HearthError } from '../errors.js';
import {
  generateCoreKeySet,
  importCoreKey,
  keyFor,
  parseCoreKeySet,
  publicKeySet,
  type CoreKeySet,
} from './core-keys.js';
import { seal, unseal } from './seal.js';
import { signClientToken } from '../client/token.js';
import { CORE_AUDIENCE, TUNNEL_AUDIENCE, signCoreToken, signTunnelToken, verifyCoreToken, verifyTunnelToken } from './tunnel-token.js';

let keys: CoreKeySet;
let other: CoreKeySet;
beforeAll(async () => {
  keys = await generateCoreKeySet();
  other = await generateCoreKeySet();
});

describe('core key set', () => {
  it('publishes no private material', () => {
    const pub = publicKeySet(keys);
    expect(pub.keys).toHaveLength(2);
    for (const k of pub.keys) expect(k).not.toHaveProperty('d');
    expect(JSON.stringify(pub)).not.toContain(keyFor(keys, 'sig').d);
  });

  it('parses its own JSON and names the variable when it cannot', () => {
    expect(parseCoreKeySet(JSON.stringify(keys), 'X', true)).toEqual(keys);
    expect(() => parseCoreKeySet('{nope', 'HEARTH_CORE_JWKS')).toThrow(/HEARTH_CORE_JWKS is not JSON/);
    expect(() => parseCoreKeySet('{"keys":[]}', 'HEARTH_CORE_JWKS')).toThrow(/HEARTH_CORE_JWKS/);
    expect(() => parseCoreKeySet(JSON.stringify(publicKeySet(keys)), 'HEARTH_KEY', true)).toThrow(
      /only public keys/,
    );
  });
});

describe('seal', () => {
  it('round-trips through the public key and hides the plaintext', async () => {
    const jwe = await seal('{"text":"meet me at 6"}', publicKeySet(keys));
    expect(jwe).not.toContain('meet');
    expect(jwe.split('.')).toHaveLength(5);
    expect(await unseal(jwe, keys)).toBe('{"text":"meet me at 6"}');
  });

  it('refuses a payload sealed to another core', async () => {
    const jwe = await seal('secret', publicKeySet(other));
    await expect(unseal(jwe, keys)).rejects.toMatchObject({ code: 'unseal_failed' });
  });
});

describe('tunnel token', () => {
  it('verifies a token the core signed and returns its id, its jti and until when it is accepted', async () => {
    const token = await signTunnelToken(keys, 'home-1');
    const verified = await verifyTunnelToken(token, publicKeySet(keys));
    expect(verified).toEqual({ coreId: 'home-1', jti: expect.stringMatching(/^[0-9a-f-]{36}$/), acceptedUntil: expect.any(Number) });
    expect(verified.acceptedUntil - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(60);
    expect((await verifyTunnelToken(await signTunnelToken(keys, 'home-1'), publicKeySet(keys))).jti).not.toBe(verified.jti);
  });

  it('is accepted until exp, but never past 5 minutes after iat, whatever exp says', async () => {
    const { acceptedUntil } = await verifyTunnelToken(await signTunnelToken(keys, 'home-1', 3_600), publicKeySet(keys));
    expect(acceptedUntil - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(300);
  });

  it.each([
    ['signed by another key', async () => signTunnelToken(other, 'home-1')],
    ['expired', async () => signTunnelToken(keys, 'home-1', -120)],
    [
      'for another audience',
      async () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: keyFor(keys, 'sig').kid })
          .setSubject('home-1')
          .setAudience('hearth:api')
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(await importCoreKey(keyFor(keys, 'sig'))),
    ],
    [
      'unsigned (alg none)',
      async () => new UnsecuredJWT({}).setSubject('home-1').setAudience(TUNNEL_AUDIENCE).setIssuedAt().setExpirationTime('1m').encode(),
    ],
    ['not a JWT', async () => 'garbage'],
    [
      'without a jti',
      async () =>
        new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: keyFor(keys, 'sig').kid })
          .setSubject('home-1')
          .setAudience(TUNNEL_AUDIENCE)
          .setIssuedAt()
          .setExpirationTime('1m')
          .sign(await importCoreKey(keyFor(keys, 'sig'))),
    ],
  ])('rejects a token %s', async (_name, make) => {
    const error = await verifyTunnelToken(await make(), publicKeySet(keys)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'tunnel_token_invalid' });
  });
});

describe('core token audiences', () => {
  it('an admin token does not open the tunnel, nor a tunnel token the admin routes', async () => {
    const admin = await signCoreToken(keys, 'home-1', 'admin');
    expect(await verifyCoreToken(admin, publicKeySet(keys), 'admin')).toMatchObject({ coreId: 'home-1' });
    await expect(verifyTunnelToken(admin, publicKeySet(keys))).rejects.toMatchObject({ code: 'tunnel_token_invalid' });
    await expect(verifyCoreToken(await signTunnelToken(keys, 'home-1'), publicKeySet(keys), 'admin')).rejects.toMatchObject({
      code: 'tunnel_token_invalid',
    });
  });
});

describe('client tokens and core tokens never stand in for each other', () => {
  it('the core refuses to sign a client token for its own audiences', async () => {
    for (const audience of Object.values(CORE_AUDIENCE)) {
      await expect(signClientToken(keys, { user: 'ada', scopes: ['chat:read'], ttlSeconds: 60, audience })).rejects.toMatchObject({
        code: 'reserved_audience',
        message: expect.stringContaining(`cannot be ${audience}`),
      });
    }
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, RegExp]>([
    ['typ at+jwt in the header', { typ: 'at+jwt' }, {}, /client token \(header typ at\+jwt\)/],
    ['typ application/at+jwt in the header', { typ: 'application/at+jwt' }, {}, /client token \(header typ at\+jwt\)/],
    ['typ at+jwt as a claim', {}, { typ: 'at+jwt' }, /client token \(claim typ at\+jwt\)/],
    ['an iss', {}, { iss: 'hearth' }, /client token \(iss\)/],
    ['scopes', {}, { scope: 'chat:read' }, /client token \(scope\)/],
  ])('verifyCoreToken refuses a token signed by the core key for the tunnel carrying %s', async (_name, header, claims, reason) => {
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: keyFor(keys, 'sig').kid, typ: 'JWT', ...header })
      .setSubject('home-1')
      .setAudience(TUNNEL_AUDIENCE)
      .setJti(crypto.randomUUID())
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(await importCoreKey(keyFor(keys, 'sig')));
    await expect(verifyTunnelToken(token, publicKeySet(keys))).rejects.toMatchObject({ code: 'tunnel_token_invalid', message: expect.stringMatching(reason) });
  });
});
