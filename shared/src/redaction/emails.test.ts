import { describe, expect, it } from 'vitest';
import { redact } from './redact.js';

const emails = (text: string) => redact(text, { kinds: ['email'] });

describe('e-mail addresses', () => {
  it('redacts addresses in running text and keeps the punctuation around them', () => {
    expect(emails('Write to ada@example.com.').text).toBe('Write to [REDACTED:email].');
    expect(emails('<ada.lovelace+hearth@mail.example.co.uk>, cc: b_2@x-y.io').text).toBe('<[REDACTED:email]>, cc: [REDACTED:email]');
    expect(emails('mailto:ops@example.org?subject=hi').text).toBe('mailto:[REDACTED:email]?subject=hi');
    expect(emails('idn user@example.xn--p1ai').text).toBe('idn [REDACTED:email]');
    expect(emails('ada@example.com bob@example.com').found.email).toBe(2);
  });

  it('leaves things with an @ that are not addresses', () => {
    for (const text of ['npm i zod@4.6.7', 'ssh user@localhost', 'import from @hearth/shared', 'ping @ada and @bob', 'a@b', 'x@1.2.3.4', 'email@ domain.com']) {
      expect(emails(text).text, text).toBe(text);
    }
  });
});
