import type { Detector, Span } from './kinds.js';
import { scan } from './scan.js';

/** IBAN length per country, as listed in the SWIFT IBAN registry. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29, BY: 28,
  CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18,
  FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28, HN: 28, HR: 21, HU: 28,
  IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20,
  LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19, MN: 20, MR: 27, MT: 31, MU: 30, NI: 28,
  NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24,
  SC: 31, SD: 18, SE: 24, SI: 19, SK: 24, SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26,
  UA: 29, VA: 22, VG: 24, XK: 20, YE: 30,
};

/** ISO 7064 mod 97-10 over the rearranged IBAN (letters as 10-35), computed digit by digit. */
function mod97(iban: string): number {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const char of rearranged) {
    const code = char.charCodeAt(0);
    const value = code >= 65 ? code - 55 : code - 48;
    remainder = (value >= 10 ? remainder * 100 + value : remainder * 10 + value) % 97;
  }
  return remainder;
}

/**
 * True for a valid IBAN: a registry country, its exact length and check digits that pass
 * mod 97. Spaces are ignored; letters must be upper case.
 *
 * @example
 * ibanValid('DE89 3704 0044 0532 0130 00'); // true
 * ibanValid('DE89 3704 0044 0532 0130 01'); // false: the checksum fails
 */
export function ibanValid(iban: string): boolean {
  const compact = iban.replace(/ /g, '');
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(compact)) return false;
  return IBAN_LENGTHS[compact.slice(0, 2)] === compact.length && mod97(compact) === 1;
}

// Compact, or printed in groups of four with single spaces (the last group shorter).
const IBAN = /(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?![A-Za-z0-9])/g;

function acceptIban(match: RegExpExecArray): Span | undefined {
  const raw = match[0];
  const length = IBAN_LENGTHS[raw.slice(0, 2)];
  if (length === undefined) return undefined;
  // A printed IBAN followed by a 4-letter word (`... 0130 00 ABCD`) is matched too long: cut it
  // where the country's length ends, if that is between groups.
  let end = 0;
  for (let chars = 0; end < raw.length && chars < length; end++) if (raw[end] !== ' ') chars++;
  if (end < raw.length && raw[end] !== ' ') return undefined;
  return ibanValid(raw.slice(0, end)) ? { start: match.index, end: match.index + end } : undefined;
}

/** IBANs, compact (`DE89370400440532013000`) or printed (`DE89 3704 0044 0532 0130 00`). */
export const ibanDetector: Detector = {
  kind: 'iban',
  find: (text) => (/\d/.test(text) ? scan(text, IBAN, acceptIban) : []),
};
