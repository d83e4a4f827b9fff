import type { Detector, Span } from './kinds.js';
import { scan } from './scan.js';

// A `+` and digits, or a national first group (digits, or an area code in parentheses), then up
// to 7 more groups after single separators (`.`, `-`, space) or around a parenthesized group.
// Groups are delimited, so backtracking never re-splits a digit run. Candidates never start in
// a token, after `#`, a currency sign or a version/amount/time separator, nor inside an earlier
// group (`\d[ .-]` behind). They must not be followed by `:30`, `.5`, `/26` or one more group:
// then the whole sequence is something else (a time, an amount, a list of numbers).
const PHONE = new RegExp(
  String.raw`(?:(?<![\w+])\+\d{1,15}|(?<![\w.,:/+#$€£¥()-]|[\d)][ .-])(?:\(\d{1,5}\)|\d{1,15}))` +
    String.raw`(?:(?:[ .-]|[ .-]?\(\d{1,5}\)[ .-]?)\d{1,15}){0,7}` +
    String.raw`(?![\w]|[.,:/-]\d|[ .-]\(?\d)`,
  'g',
);

interface Group {
  digits: string;
  paren: boolean;
}

/** Digit groups and the separators between them (`''` where a parenthesis alone separates). */
function parse(raw: string): { groups: Group[]; separators: string[] } {
  const groups: Group[] = [];
  const separators: string[] = [];
  let separator = '';
  for (const token of raw.matchAll(/\((\d+)\)|\d+|[ .-]/g)) {
    if (token[1] !== undefined || /\d/.test(token[0])) {
      if (groups.length > 0) separators.push(separator);
      groups.push({ digits: token[1] ?? token[0], paren: token[1] !== undefined });
      separator = '';
    } else {
      separator += token[0];
    }
  }
  return { groups, separators };
}

const inRange = (value: string, min: number, max: number) => Number(value) >= min && Number(value) <= max;
const isYear = (value: string) => value.length === 4 && inRange(value, 1900, 2099);
const isDay = (value: string) => value.length <= 2 && inRange(value, 1, 31);

/** `2026-11-25 ...`, `25.11.2026 ...`, `11/25/2026 ...`: a date, perhaps followed by a time. */
function startsWithDate([a, b, c]: string[]): boolean {
  if (a === undefined || b === undefined || c === undefined) return false;
  if (isYear(a) && b.length <= 2 && inRange(b, 1, 12) && isDay(c)) return true;
  return isDay(a) && isDay(b) && isYear(c);
}

/** Whether a candidate (a `+` or a first group, then separated groups) is a phone number. */
export function isPhoneNumber(raw: string): boolean {
  const { groups, separators } = parse(raw);
  const digits = groups.map((group) => group.digits);
  const count = digits.join('').length;
  const international = raw.startsWith('+');
  // Groups after the second are never single digits (`1.2.3.4`, `10.0.19045.2965`); the second
  // may be after a country code (`+33 1 23 45 67 89`).
  const shortGroup = groups.findIndex((group, i) => !group.paren && group.digits.length < 2 && (i > 1 || (i === 1 && !international)));
  if (shortGroup !== -1) return false;
  if (international) return count >= 8 && count <= 15;

  const first = digits[0] ?? '';
  const longest = first.startsWith('00') ? 15 : 12;
  if (groups.length < 2 || count < 9 || count > longest) return false;
  if (startsWithDate(digits)) return false;
  // `2026-000123-45`, `2026.11`: order and document numbers led by a year.
  if (isYear(first) && /^[.\-/]/.test(separators[0] ?? '')) return false;
  const onlyDots = separators.every((separator) => separator === '.');
  if (onlyDots && groups.length === 4 && digits.every((group) => group.length <= 3 && Number(group) <= 255)) return false; // an IPv4 address
  if (onlyDots && first.length < 2) return false; // a version number
  if (/^\d{3}-\d{2}-\d{4}$/.test(raw)) return false; // the shape of a US SSN, even an invalid one
  if (separators.some((s) => s.includes('.')) && separators.some((s) => s.includes('-'))) return false; // `529.982.247-26`: an id
  return true;
}

function acceptPhone(match: RegExpExecArray): Span | undefined {
  return isPhoneNumber(match[0]) ? { start: match.index, end: match.index + match[0].length } : undefined;
}

/**
 * Phone numbers: international (`+44 20 7946 0958`, `+14155552671`, `+1 (415) 555-2671`), 8-15
 * digits; national ones written in groups (`(415) 555-2671`, `020 7946 0958`, `06 12 34 56 78`),
 * 9-12 digits. Not dates, times, ISO timestamps, versions, IPv4 addresses, amounts, or a bare
 * run of digits (an id is more likely than a phone).
 */
export const phoneDetector: Detector = {
  kind: 'phone',
  find: (text) => (/\d/.test(text) ? scan(text, PHONE, acceptPhone) : []),
};
