import type { Detector, Span } from './kinds.js';
import { scan } from './scan.js';

/**
 * True when `digits` (only digits) passes the Luhn check every payment card number carries.
 *
 * @example
 * luhnValid('4111111111111111'); // true
 * luhnValid('4111111111111112'); // false
 */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let digit = digits.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/**
 * True when `digits` could be a card number: 13-19 digits, Luhn-valid, and a first digit of 2-9.
 * No scheme issues numbers starting with 0, and 1 (UATP airline accounts only) is left out on
 * purpose: it is what epoch milliseconds and most numeric ids start with.
 */
export const isCardNumber = (digits: string): boolean =>
  digits.length >= 13 && digits.length <= 19 && digits[0] !== '0' && digits[0] !== '1' && luhnValid(digits);

// Either one run of 13-19 digits, or a 4-digit group followed by 2-6-digit groups, all with the
// same single separator (`4111 1111 1111 1111`, `3782-822463-10005`). Not inside a dashed id
// (`\d-` behind), not followed by `.5`, `/28`, `-7`: decimals, dates, ids. A card may follow
// another number after a space (`exp 12 28 4111 ...`): missing it is worse than a false alarm.
const CARD = /(?<![\w.,+-]|\d-)(?:\d{13,19}|\d{4}([ -])\d{2,6}(?:\1\d{1,6}){1,4})(?![\w]|[.,/:-]\d)/g;

function acceptCard(match: RegExpExecArray): Span | undefined {
  const raw = match[0];
  const separator = match[1];
  if (separator === undefined) return isCardNumber(raw) ? { start: match.index, end: match.index + raw.length } : undefined;
  // A card followed by a space and other numbers (`4111 1111 1111 1111 123` with its CVC):
  // the longest prefix of whole groups that is a card. Dashes bind groups: no trimming there.
  const groups = raw.split(separator);
  for (let count = groups.length; count >= 2; count--) {
    if (count < groups.length && separator !== ' ') break;
    const prefix = groups.slice(0, count).join(separator);
    if (isCardNumber(groups.slice(0, count).join(''))) return { start: match.index, end: match.index + prefix.length };
  }
  return undefined;
}

/** Payment card numbers, with or without single spaces or dashes between groups. */
export const cardDetector: Detector = {
  kind: 'card',
  find: (text) => scan(text, CARD, acceptCard),
};
