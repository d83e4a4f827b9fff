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
import { TUNNEL_AUDIENCE, signCoreToken, signTunnelToken, verifyCoreToken, verifyTunnelToken } from './tunnel-token.js';

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
  it('verifies a token the core signed and returns its id', async () => {
    const token = await signTunnelToken(keys, 'home-1');
    expect(await verifyTunnelToken(token, publicKeySet(keys))).toEqual({ coreId: 'home-1' });
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
  ])('rejects a token %s', async (_name, make) => {
    const error = await verifyTunnelToken(await make(), publicKeySet(keys)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HearthError);
    expect(error).toMatchObject({ code: 'tunnel_token_invalid' });
  });
});

describe('core token audiences', () => {
  it('an admin token does not open the tunnel, nor a tunnel token the admin routes', async () => {
    const admin = await signCoreToken(keys, 'home-1', 'admin');
    expect(await verifyCoreToken(admin, publicKeySet(keys), 'admin')).toEqual({ coreId: 'home-1' });
    await expect(verifyTunnelToken(admin, publicKeySet(keys))).rejects.toMatchObject({ code: 'tunnel_token_invalid' });
    await expect(verifyCoreToken(await signTunnelToken(keys, 'home-1'), publicKeySet(keys), 'admin')).rejects.toMatchObject({
      code: 'tunnel_token_invalid',
    });
  });
});
