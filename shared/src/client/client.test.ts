import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateCoreKeySet, publicKeySet } from '../crypto/core-keys.js';
import { decodeCursor, encodeCursor, isAfter } from './cursor.js';
import { apiConversationId, parseApiConversationId } from './ids.js';
import { CLIENT_AUDIENCE, CORE_CLIENT_ISSUER, ClientClaimsSchema, signClientToken } from './token.js';

describe('history cursors', () => {
  it('round-trip a position, message ids with any characters included', () => {
    for (const position of [{ at: 0, id: 'x' }, { at: 1_764_000_000_123, id: 'reply:api:ada:c-1:m/1 ü' }]) {
      const cursor = encodeCursor(position);
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeCursor(cursor)).toEqual(position);
    }
  });

  it('refuse what is not one of ours', () => {
    for (const bad of ['', 'not base64!', btoa('no-dot'), btoa('12x.id'), 'A'.repeat(600), btoa('\xff\xfe')]) {
      expect(decodeCursor(bad.replace(/=+$/, ''))).toBeUndefined();
    }
  });

  it('order by time, then by message id', () => {
    expect(isAfter({ at: 2, id: 'a' }, { at: 1, id: 'z' })).toBe(true);
    expect(isAfter({ at: 1, id: 'b' }, { at: 1, id: 'a' })).toBe(true);
    expect(isAfter({ at: 1, id: 'a' }, { at: 1, id: 'a' })).toBe(false);
  });
});

describe('API conversation ids', () => {
  it('carry their user and short id, and nothing else parses as one', () => {
    expect(parseApiConversationId(apiConversationId('ada', 'c-1'))).toEqual({ user: 'ada', conversation: 'c-1' });
    for (const other of ['telegram:42', 'api:ada', 'api:ada:c:extra', 'api::c']) expect(parseApiConversationId(other)).toBeUndefined();
  });
});

describe('client tokens', () => {
  it('are signed by the core key for the API audience, with scopes, a jti and an expiry', async () => {
    const keys = await generateCoreKeySet();
    const { token, jti, expiresAt } = await signClientToken(keys, { user: 'ada', scopes: ['chat:read', 'sync', 'sync'], ttlSeconds: 60 });
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(publicKeySet(keys) as JSONWebKeySet), {
      issuer: CORE_CLIENT_ISSUER,
      audience: CLIENT_AUDIENCE,
      algorithms: ['ES256'],
    });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({ sub: 'ada', scope: 'chat:read sync', jti, exp: expiresAt });
    expect(ClientClaimsSchema.parse(payload).scopes).toEqual(new Set(['chat:read', 'sync']));
  });

  it('refuse a user id that could be mistaken for a conversation id', async () => {
    const keys = await generateCoreKeySet();
    await expect(signClientToken(keys, { user: 'ada:x', scopes: [], ttlSeconds: 60 })).rejects.toThrow(/user id/);
  });

  it('claims read scopes from `scope` and `scp`, ignoring unknown ones', () => {
    const claims = ClientClaimsSchema.parse({ sub: 'ada', exp: 1, scope: 'chat:read root', scp: ['admin', 'x'] });
    expect(claims.scopes).toEqual(new Set(['chat:read', 'admin']));
  });
});
