import { describe, expect, it } from 'vitest';
import { isCardNumber, luhnValid } from './cards.js';
import { redact } from './redact.js';

describe('card numbers', () => {
  it('checks the Luhn digit', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false); // digits only
    expect(luhnValid('')).toBe(false);
  });

  it('redacts Luhn-valid numbers of the major schemes, however they are grouped', () => {
    for (const card of [
      '4111111111111111', // Visa
      '4111 1111 1111 1111',
      '4111-1111-1111-1111',
      '5555 5555 5555 4444', // Mastercard
      '3782 822463 10005', // Amex, 4-6-5
      '6011111111111117', // Discover
      '4222222222222', // 13-digit Visa
      '3530111333300000', // JCB
      '6304 0000 0000 0000', // Maestro
    ]) {
      const { text, found } = redact(`pay with ${card} please`);
      expect(text, card).toBe('pay with [REDACTED:card] please');
      expect(found.card, card).toBe(1);
    }
  });

  it('does not take a Luhn-invalid 16-digit number for a card (nor for anything else)', () => {
    for (const text of ['ref 4111 1111 1111 1112', 'ref 4111111111111112', 'ref 1234-5678-9012-3456', 'ref 5555 5555 5555 4445']) {
      expect(redact(text)).toMatchObject({ text, found: { card: 0, phone: 0 } });
    }
  });

  it('leaves numbers that no scheme issues, and ids that are too long or too short', () => {
    expect(isCardNumber('0000000000000000')).toBe(false); // Luhn-valid, but no card starts with 0
    expect(isCardNumber('1764028800001')).toBe(false); // Luhn-valid epoch milliseconds
    expect(isCardNumber('41111111111')).toBe(false);
    for (const text of ['at 1764028800001', 'id 0000 0000 0000 0000', 'hash 41111111111111110000', 'pi 3.4111111111111111', 'x4111111111111111']) {
      expect(redact(text, { kinds: ['card'] }).text).toBe(text);
    }
  });

  it('finds the card before a CVC or an expiry written after it', () => {
    expect(redact('4111 1111 1111 1111 123').text).toBe('[REDACTED:card] 123');
    expect(redact('4111 1111 1111 1111 12/28').text).toBe('[REDACTED:card] 12/28');
  });

  it('finds cards next to other numbers, and two cards in a row', () => {
    expect(redact('exp 12 28 4111 1111 1111 1111').text).toBe('exp 12 28 [REDACTED:card]');
    expect(redact('4111 1111 1111 1111 5555 5555 5555 4444').text).toBe('[REDACTED:card] [REDACTED:card]');
    // Inside a dashed id it is part of the id.
    expect(redact('ref 1234-4111-1111-1111-1111', { kinds: ['card'] }).text).toBe('ref 1234-4111-1111-1111-1111');
  });
});
