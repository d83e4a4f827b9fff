import { describe, expect, it } from 'vitest';
import { bearerOf } from '../src/auth/bearer.js';

describe('one Bearer parser for core and client tokens', () => {
  it('takes a b64token after Bearer and one or more spaces, any case', () => {
    expect(bearerOf('Bearer eyJhbGciOi.eyJzdWIi.sig-_~+/=')).toBe('eyJhbGciOi.eyJzdWIi.sig-_~+/=');
    expect(bearerOf('bearer   abc')).toBe('abc');
  });

  it('refuses what is not one token: none, another scheme, spaces or other characters inside, trailing junk', () => {
    for (const header of [undefined, null, '', 'Bearer', 'Bearer ', 'Basic abc', 'Bearer a b', 'Bearer a\tb', 'Bearer a"b', 'Bearer abc ', 'Bearerabc']) {
      expect(bearerOf(header)).toBeUndefined();
    }
  });
});
