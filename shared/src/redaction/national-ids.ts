import type { Detector, Span } from './kinds.js';
import { scan, wholeMatch } from './scan.js';

/**
 * A US Social Security number as the SSA issues them: no area 000, 666 or 900-999, no group
 * 00, no serial 0000. Takes the three parts.
 */
export const ssnValid = (area: string, group: string, serial: string): boolean =>
  area !== '000' && area !== '666' && area[0] !== '9' && group !== '00' && serial !== '0000';

/**
 * A UK National Insurance number: two prefix letters (not D, F, I, Q, U, V first; not D, F, I,
 * O, Q, U, V second; not BG, GB, KN, NK, NT, TN or ZZ), six digits and a suffix A-D.
 *
 * @example
 * ninoValid('AB 12 34 56 C'); // true
 * ninoValid('QQ 12 34 56 C'); // false: Q never starts one (HMRC's documentation example)
 */
export function ninoValid(nino: string): boolean {
  const compact = nino.replace(/ /g, '');
  if (!/^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]$/.test(compact)) return false;
  return !['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'].includes(compact.slice(0, 2));
}

const DNI_LETTERS = 'TRWAGMYFPDXBNJZSQVHLCKE';

/**
 * A Spanish DNI (8 digits) or NIE (X, Y or Z and 7 digits) with its check letter, the number
 * mod 23 (an NIE's X, Y, Z count as 0, 1, 2).
 *
 * @example
 * dniNieValid('12345678Z'); // true
 * dniNieValid('X1234567L'); // true
 */
export function dniNieValid(id: string): boolean {
  const compact = id.replace(/[ -]/g, '').toUpperCase();
  const parts = /^([XYZ]\d{7}|\d{8})([A-Z])$/.exec(compact);
  if (parts === null) return false;
  const number = Number((parts[1] ?? '').replace(/^[XYZ]/, (prefix) => String('XYZ'.indexOf(prefix))));
  return DNI_LETTERS[number % 23] === parts[2];
}

/** A Brazilian CPF (`529.982.247-25`): two mod-11 check digits; repeated digits are not issued. */
export function cpfValid(cpf: string): boolean {
  const digits = cpf.replace(/\D/g, '');
  if (digits.length !== 11 || /^(\d)\1{10}$/.test(digits)) return false;
  const check = (length: number) => {
    let sum = 0;
    for (let i = 0; i < length; i++) sum += Number(digits[i]) * (length + 1 - i);
    return ((sum * 10) % 11) % 10;
  };
  return check(9) === Number(digits[9]) && check(10) === Number(digits[10]);
}

// Each shape is written with its separators; bare runs of 9 or 11 digits are too often ids.
const SSN = /(?<![\w.,+-]|\d[ .-])(\d{3})([- ])(\d{2})\2(\d{4})(?![\w]|[ .,/:-]\d)/g;
const NINO = /(?<![A-Za-z0-9])[A-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D](?![A-Za-z0-9])/g;
const DNI_NIE = /(?<![A-Za-z0-9-])(?:[XYZxyz]-?\d{7}|\d{8})[ -]?[A-Za-z](?![A-Za-z0-9])/g;
const CPF = /(?<![\w.,+-])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\w]|[.,-]\d)/g;

const acceptSsn = (match: RegExpExecArray): Span | undefined =>
  ssnValid(match[1] ?? '', match[3] ?? '', match[4] ?? '') ? wholeMatch(match) : undefined;
const acceptWith = (valid: (raw: string) => boolean) => (match: RegExpExecArray) => (valid(match[0]) ? wholeMatch(match) : undefined);

/** National identity numbers whose format carries a real check: SSN, NINO, DNI/NIE, CPF. */
export const nationalIdDetector: Detector = {
  kind: 'national_id',
  find: (text) =>
    /\d/.test(text)
      ? [...scan(text, SSN, acceptSsn), ...scan(text, NINO, acceptWith(ninoValid)), ...scan(text, DNI_NIE, acceptWith(dniNieValid)), ...scan(text, CPF, acceptWith(cpfValid))]
      : [],
};
