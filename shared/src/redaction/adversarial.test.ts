import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

const MB = 1 << 20;
const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);

// Inputs that make backtracking regexes quadratic or exponential. The patterns are written to
// stay linear; this proves they finish on 1 MB each (how fast is for benchmarks, not tests).
const INPUTS: Record<string, string> = {
  'a digit run': fill('1'),
  'digit groups': fill('1234 '),
  'single digits with separators': fill('1 '),
  'dotted digits': fill('1.'),
  'dashed digits': fill('12-'),
  'plus signs': fill('+1 '),
  'parentheses': fill('(1) '),
  'a@a@a@': fill('a@'),
  'a@ and endless labels': `a@${fill('a.')}`,
  'letters': fill('a'),
  'upper-case alphanumerics': fill('AB12'),
  'IBAN-like groups': fill('DE89 '),
  'NINO-like groups': fill('AB 12 '),
  'BEGIN lines without END': fill('-----BEGIN PRIVATE KEY-----'),
  'an endless PEM body': `-----BEGIN PRIVATE KEY-----\n${fill('QUJD-')}`,
  'secret keys without values': fill('password='),
  'unclosed quoted values': fill('token: "'),
  'Bearer Bearer': fill('Bearer '),
  'an endless sk- token': `sk-${fill('a-')}`,
  'JWT starts': fill('eyJ.'),
  'URL credentials without @': fill('http://a:'),
  'colons after digits': fill('123456:'),
};

describe('redact on adversarial input', () => {
  for (const [name, text] of Object.entries(INPUTS)) {
    it(`finishes on 1 MB of ${name}`, () => {
      const result = redact(text);
      expect(typeof result.text).toBe('string');
      // Whatever was redacted, nothing of the input was lost around it.
      expect(result.text.length).toBeGreaterThan(0);
    });
  }

  it('finds what is real in a megabyte of near misses', () => {
    const text = `${fill('1 ')} ada@example.com ${fill('a@')} 4111 1111 1111 1111`;
    const { found } = redact(text);
    expect(found).toMatchObject({ email: 1, card: 1 });
  });
});
