import { generateCoreKeySet, signCoreToken, signTunnelToken } from '@hearth/shared';
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { TestTunnel, coreKeys } from './helpers.js';

const upgrade = (headers: Record<string, string> = {}) =>
  SELF.fetch('https://edge.test/tunnel', { headers: { Upgrade: 'websocket', ...headers } });

describe('GET /tunnel', () => {
  it('answers 426 to an authenticated request that is not a WebSocket upgrade', async () => {
    const token = await signTunnelToken(coreKeys(), 'core-a');
    const response = await SELF.fetch('https://edge.test/tunnel', { headers: { Authorization: `Bearer ${token}` } });
    expect(response.status).toBe(426);
  });

  it('answers 401 with WWW-Authenticate when there is no token', async () => {
    const response = await upgrade();
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toContain('Bearer');
  });

  it.each([
    ['signed by another key', async () => signTunnelToken(await generateCoreKeySet(), 'core-a')],
    ['expired', async () => signTunnelToken(coreKeys(), 'core-a', -600)],
    ['malformed', async () => 'a.b.c'],
    ['for the admin routes', async () => signCoreToken(coreKeys(), 'core-a', 'admin')],
  ])('answers 401 to a token %s', async (_name, token) => {
    const response = await upgrade({ Authorization: `Bearer ${await token()}` });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('opens the tunnel for a token signed by the configured core key', async () => {
    const tunnel = await TestTunnel.viaRoute('core-a');
    await tunnel.hello(1);
    tunnel.close();
  });

  it('refuses a hello that names another core than the token', async () => {
    const tunnel = await TestTunnel.viaRoute('core-a');
    tunnel.send({ type: 'hello', core_id: 'core-b', credits: 1 });
    expect(await tunnel.next('error')).toMatchObject({ code: 'core_id_mismatch', fatal: true });
    expect((await tunnel.waitClosed()).code).toBe(4002);
  });
});

describe('GET /admin/dead-letters', () => {
  const get = (token?: string) =>
    SELF.fetch('https://edge.test/admin/dead-letters', token ? { headers: { Authorization: `Bearer ${token}` } } : {});

  it('lists dead letters, still sealed, to the core', async () => {
    const response = await get(await signCoreToken(coreKeys(), 'core-a', 'admin'));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ dead_letters: [] });
  });

  it.each([
    ['no token', async () => undefined],
    ['a tunnel token', async () => signTunnelToken(coreKeys(), 'core-a')],
    ['a token of another key', async () => signCoreToken(await generateCoreKeySet(), 'core-a', 'admin')],
  ])('answers 401 to %s', async (_name, token) => {
    const response = await get(await token());
    expect(response.status).toBe(401);
    expect(response.headers.get('WWW-Authenticate')).toBe('Bearer realm="hearth-admin"');
  });
});

describe('diagnostic routes', () => {
  it('are not there unless HEARTH_DIAGNOSTICS=on', async () => {
    const response = await SELF.fetch('https://edge.test/diagnostics/direct/telegram', { method: 'POST', body: '{}' });
    expect(response.status).toBe(404);
  });
});

describe('internal headers', () => {
  it('drops the X-Hearth-* headers a caller sets: a tunnel upgrade cannot pose as an API client or as another core', async () => {
    // The Relay sees a plain tunnel upgrade (not a client's event stream, which would not be a 101).
    const tunnel = await TestTunnel.viaRoute('core-a', coreKeys(), {
      'X-Hearth-Relay-Route': 'client-events',
      'X-Hearth-Client': JSON.stringify({ user: 'owner', tokenKey: 'forged', exp: 4_102_444_800, canWrite: true }),
      'X-Hearth-Core-Id': 'core-b',
    });
    // The core id is the token's, whatever the caller's header said.
    tunnel.send({ type: 'hello', core_id: 'core-b', credits: 1 });
    expect(await tunnel.next('error')).toMatchObject({ code: 'core_id_mismatch', fatal: true });
    tunnel.close();
  });
});
