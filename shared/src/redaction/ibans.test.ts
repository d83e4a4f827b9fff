import { describe, expect, it } from 'vitest';
import { ibanValid } from './ibans.js';
import { redact } from './redact.js';

describe('IBANs', () => {
  it('checks country, length and mod 97', () => {
    expect(ibanValid('DE89370400440532013000')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(ibanValid('DE89 3704 0044 0532 0130 01')).toBe(false); // checksum
    expect(ibanValid('DE89 3704 0044 0532 0130 0')).toBe(false); // length
    expect(ibanValid('QQ89370400440532013000')).toBe(false); // no such country
    expect(ibanValid('de89370400440532013000')).toBe(false);
  });

  it('redacts valid IBANs, compact or printed', () => {
    for (const iban of ['DE89 3704 0044 0532 0130 00', 'GB82WEST12345698765432', 'GB82 WEST 1234 5698 7654 32', 'FR14 2004 1010 0505 0001 3M02 606', 'NL91ABNA0417164300', 'ES91 2100 0418 4502 0005 1332', 'CH93 0076 2011 6238 5295 7', 'BE68539007547034', 'NO93 8601 1117 947', 'IT60X0542811101000000123456']) {
      const { text, found } = redact(`IBAN: ${iban}.`);
      expect(text, iban).toBe('IBAN: [REDACTED:iban].');
      expect(found.iban).toBe(1);
    }
  });

  it('stops where the country length ends, before a following word', () => {
    expect(redact('NO93 8601 1117 947 FROM Ada').text).toBe('[REDACTED:iban] FROM Ada');
    expect(redact('DE89 3704 0044 0532 0130 00 ABCD').text).toBe('[REDACTED:iban] ABCD');
  });

  it('leaves IBAN-shaped strings whose checksum or length is wrong', () => {
    for (const text of ['DE89 3704 0044 0532 0130 01', 'GB82WEST12345698765433', 'NL91ABNA04171643001', 'XX12 3456 7890 1234 56', 'AB12CDEFGHIJKLMNOP']) {
      expect(redact(text, { kinds: ['iban'] }).text, text).toBe(text);
    }
  });
});
