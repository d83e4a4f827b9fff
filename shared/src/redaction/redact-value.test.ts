import { describe, expect, it } from 'vitest';
import { isSecretKey, redactValue } from './redact-value.js';

describe('redactValue', () => {
  it('redacts strings at any depth and keeps the shape and the other values', () => {
    const input = {
      message_id: 'telegram:123456:789',
      sender: { id: 'telegram:42', name: 'Ada', contact: ['ada@example.com', '+44 20 7946 0958'] },
      content: { text: 'card 4111 1111 1111 1111', attachments: [], entities: [{ offset: 0, length: 4 }] },
      timestamp: 1625097600,
      reply_to: null,
      urgent: false,
    };
    expect(redactValue(input)).toEqual({
      message_id: 'telegram:123456:789',
      sender: { id: 'telegram:42', name: 'Ada', contact: ['[REDACTED:email]', '[REDACTED:phone]'] },
      content: { text: 'card [REDACTED:card]', attachments: [], entities: [{ offset: 0, length: 4 }] },
      timestamp: 1625097600,
      reply_to: null,
      urgent: false,
    });
    expect(input.sender.contact[0]).toBe('ada@example.com'); // the input is not modified
  });

  it('replaces values under secret-named keys whole, whatever their type', () => {
    expect(
      redactValue({
        token: 'abc',
        headers: { Authorization: 'Basic abc', 'set-cookie': ['a=1', 'b=2'], 'x-api-key': 12345 },
        accessToken: { nested: 'x' },
        client_secret: 'short',
        db: { password: 'hunter2', PRIVATE_KEY: '...' },
        refreshToken: null,
        hasToken: true,
      }),
    ).toEqual({
      token: '[REDACTED:secret]',
      headers: { Authorization: '[REDACTED:secret]', 'set-cookie': '[REDACTED:secret]', 'x-api-key': '[REDACTED:secret]' },
      accessToken: '[REDACTED:secret]',
      client_secret: '[REDACTED:secret]',
      db: { password: '[REDACTED:secret]', PRIVATE_KEY: '[REDACTED:secret]' },
      refreshToken: null,
      hasToken: true,
    });
  });

  it('keeps keys that only mention a secret word', () => {
    const input = { max_tokens: 256, tokenCount: 12, secretName: 'db', private_key_id: 'k1', tokens: ['a', 'b'], tokenizer: 'x.json' };
    expect(redactValue(input)).toEqual(input);
    expect(isSecretKey('TELEGRAM_BOT_TOKEN')).toBe(true);
    expect(isSecretKey('apiKey')).toBe(true);
    expect(isSecretKey('AWS_SECRET_ACCESS_KEY')).toBe(true);
    expect(isSecretKey('primaryKey')).toBe(false);
    expect(isSecretKey('pin', ['PIN'])).toBe(true);
  });

  it('hides the private members of a JWK and keeps the public ones', () => {
    const jwk = { kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', d: 'jpsQnnGQmL-YBIffH1136cLV9NfXl0BhbQVMRy-XIvs', kid: 'core-1' };
    expect(redactValue({ keys: [jwk] })).toEqual({ keys: [{ ...jwk, d: '[REDACTED:secret]' }] });
    const rsa = { kty: 'RSA', n: 'sXch', e: 'AQAB', d: 'VFCW', p: '8lsM', q: '2Sdr', dp: 'K3E1', dq: 'PuAI', qi: 'vBkS' };
    expect(redactValue(rsa)).toEqual({ kty: 'RSA', n: 'sXch', e: 'AQAB', d: '[REDACTED:secret]', p: '[REDACTED:secret]', q: '[REDACTED:secret]', dp: '[REDACTED:secret]', dq: '[REDACTED:secret]', qi: '[REDACTED:secret]' });
    expect(redactValue({ kty: 'oct', k: 'GawgguFyGrWKav7AX4VKUg' })).toEqual({ kty: 'oct', k: '[REDACTED:secret]' });
    // Not a JWK: `d` is just a field.
    expect(redactValue({ d: 'delta', p: 'page' })).toEqual({ d: 'delta', p: 'page' });
  });

  it('redacts keys that hold personal data, keeping them distinct', () => {
    expect(redactValue({ 'ada@example.com': 1, 'bob@example.com': 2, plain: 3 })).toEqual({ '[REDACTED:email]': 1, '[REDACTED:email]#2': 2, plain: 3 });
  });

  it('survives cycles and deep nesting, and keeps shared (non-cyclic) objects', () => {
    const node: Record<string, unknown> = { name: 'ada@example.com' };
    node.self = node;
    expect(redactValue(node)).toEqual({ name: '[REDACTED:email]', self: '[Circular]' });

    const shared = { mail: 'ada@example.com' };
    expect(redactValue({ a: shared, b: shared })).toEqual({ a: { mail: '[REDACTED:email]' }, b: { mail: '[REDACTED:email]' } });

    let deep: unknown = 'ada@example.com';
    for (let i = 0; i < 100_000; i++) deep = { next: deep };
    let out = redactValue(deep, { maxDepth: 5 });
    for (let i = 0; i < 5; i++) out = (out as { next: unknown }).next;
    expect(out).toBe('[Truncated]');
  });

  it('serializes what JSON would, and Errors with their message and stack', () => {
    const at = new Date('2026-11-25T10:00:00.000Z');
    expect(redactValue({ at })).toEqual({ at: '2026-11-25T10:00:00.000Z' });
    const error = Object.assign(new Error('cannot reach ada@example.com', { cause: new Error('token=abcdef123') }), { code: 'E_SEND' });
    const out = redactValue({ err: error }) as { err: Record<string, unknown> };
    expect(out.err).toMatchObject({ name: 'Error', message: 'cannot reach [REDACTED:email]', code: 'E_SEND', cause: { message: 'token=[REDACTED:secret]' } });
    expect(out.err.stack).toMatch(/^Error: cannot reach \[REDACTED:email\]/);
  });

  it('does not let a __proto__ key change the prototype', () => {
    const out = redactValue(JSON.parse('{"__proto__": {"polluted": "yes"}}')) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('passes options to redact', () => {
    expect(redactValue({ a: 'ada@example.com +44 20 7946 0958', token: 'x' }, { kinds: ['phone'], replacement: '#' })).toEqual({ a: 'ada@example.com #', token: '#' });
  });
});
