import { describe, expect, it } from 'vitest';
import { cpfValid, dniNieValid, ninoValid, ssnValid } from './national-ids.js';
import { redact } from './redact.js';

const ids = (text: string) => redact(text, { kinds: ['national_id'] });

describe('national ids', () => {
  it('US SSN: redacts issued shapes, leaves the ranges never issued', () => {
    expect(ids('SSN 123-45-6789 on file').text).toBe('SSN [REDACTED:national_id] on file');
    expect(ids('ssn: 536 22 1234').text).toBe('ssn: [REDACTED:national_id]');
    for (const [area, group, serial] of [['000', '12', '3456'], ['666', '12', '3456'], ['912', '34', '5678'], ['123', '00', '4567'], ['123', '45', '0000']] as const) {
      expect(ssnValid(area, group, serial)).toBe(false);
      const text = `SSN ${area}-${group}-${serial}`;
      expect(redact(text).text, text).toBe(text); // and not taken for a phone either
    }
    expect(ids('123-45-67890').text).toBe('123-45-67890');
  });

  it('UK National Insurance number: prefix rules and suffix A-D', () => {
    expect(ninoValid('AB 12 34 56 C')).toBe(true);
    expect(ids('NI AB 12 34 56 C and JG103750A').text).toBe('NI [REDACTED:national_id] and [REDACTED:national_id]');
    for (const nino of ['QQ 12 34 56 C', 'GB 12 34 56 A', 'AO 12 34 56 A', 'DA 12 34 56 A', 'AB 12 34 56 E', 'ZZ123456D']) {
      expect(ninoValid(nino), nino).toBe(false);
      expect(ids(`NI ${nino}`).text).toBe(`NI ${nino}`);
    }
  });

  it('Spanish DNI and NIE: the check letter must match', () => {
    expect(dniNieValid('12345678Z')).toBe(true);
    expect(dniNieValid('X1234567L')).toBe(true);
    expect(ids('DNI 12345678Z, NIE X-1234567-L, dni 12345678-z').text).toBe('DNI [REDACTED:national_id], NIE [REDACTED:national_id], dni [REDACTED:national_id]');
    for (const text of ['DNI 12345678A', 'NIE X1234567M', 'ref AB12345678Z']) expect(ids(text).text, text).toBe(text);
  });

  it('Brazilian CPF: both check digits, no repeated digits', () => {
    expect(cpfValid('529.982.247-25')).toBe(true);
    expect(cpfValid('529.982.247-26')).toBe(false);
    expect(cpfValid('111.111.111-11')).toBe(false);
    expect(ids('CPF 529.982.247-25').text).toBe('CPF [REDACTED:national_id]');
    expect(ids('CPF 111.111.111-11').text).toBe('CPF 111.111.111-11');
  });
});
