import { describe, expect, it } from 'vitest';
import { REDACTION_KINDS } from './kinds.js';
import { redact } from './redact.js';

describe('redact', () => {
  it('redacts every kind in one message and counts them', () => {
    const text =
      'Hi, I am ada@example.com (+44 20 7946 0958). Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, ' +
      'SSN 123-45-6789, key sk-proj-Ab3dE5gH7jK9mN1pQ3sT5vX7zB9cD1fG3. Order 2026-11-25, build 1.2.3.4, id telegram:123456:789.';
    const result = redact(text);
    expect(result.text).toBe(
      'Hi, I am [REDACTED:email] ([REDACTED:phone]). Card [REDACTED:card], IBAN [REDACTED:iban], ' +
        'SSN [REDACTED:national_id], key [REDACTED:secret]. Order 2026-11-25, build 1.2.3.4, id telegram:123456:789.',
    );
    expect(result.found).toEqual({ secret: 1, email: 1, iban: 1, card: 1, national_id: 1, phone: 1 });
  });

  it('counts several findings of one kind', () => {
    const { text, found } = redact('ada@example.com, bob@example.org and 4111111111111111 / 5555 5555 5555 4444');
    expect(text).toBe('[REDACTED:email], [REDACTED:email] and [REDACTED:card] / [REDACTED:card]');
    expect(found).toMatchObject({ email: 2, card: 2, phone: 0 });
  });

  it('leaves text without findings as it was (the same string, zero counts)', () => {
    const text = 'Meeting at 10:30 on 2026-11-25 about release 1.2.3, budget 1,234.56 EUR.';
    expect(redact(text)).toEqual({ text, found: Object.fromEntries(REDACTION_KINDS.map((kind) => [kind, 0])) });
    expect(redact('')).toMatchObject({ text: '' });
  });

  it('makes one finding of overlapping ones: a secret with digits stays one secret', () => {
    // The value is also a phone number and a card number.
    expect(redact('password=+442079460958').text).toBe('password=[REDACTED:secret]');
    expect(redact('token: 4111111111111111').found).toMatchObject({ secret: 1, card: 0 });
    // A card number as the local part of an address is part of the address.
    expect(redact('4111111111111111@example.com').text).toBe('[REDACTED:email]');
    // A password in a URL is a secret, not the local part of an address.
    expect(redact('https://ada:s3cret@example.com/feed').text).toBe('https://ada:[REDACTED:secret]@example.com/feed');
    // Within a kind the longest wins: the whole value, not just the key shape it starts with.
    expect(redact('API_KEY=sk_live_51H8x2Y3z4A5b6C7d8E9f0G1h2I-old').text).toBe('API_KEY=[REDACTED:secret]');
    // A key in a secret-named pair: one finding, not two.
    expect(redact('GITHUB_TOKEN=ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R').found.secret).toBe(1);
  });

  it('runs only the kinds asked for', () => {
    const text = 'ada@example.com, +44 20 7946 0958, 4111 1111 1111 1111';
    expect(redact(text, { kinds: ['email'] }).text).toBe('[REDACTED:email], +44 20 7946 0958, 4111 1111 1111 1111');
    expect(redact(text, { kinds: ['phone', 'card'] }).text).toBe('ada@example.com, [REDACTED:phone], [REDACTED:card]');
    expect(redact(text, { kinds: [] }).text).toBe(text);
  });

  it('takes a replacement template or function', () => {
    const text = 'mail ada@example.com, card 4111111111111111';
    expect(redact(text, { replacement: '***' }).text).toBe('mail ***, card ***');
    expect(redact(text, { replacement: '<{kind}>' }).text).toBe('mail <email>, card <card>');
    expect(redact(text, { replacement: (kind) => `[${kind.toUpperCase()}]` }).text).toBe('mail [EMAIL], card [CARD]');
  });

  it('keeps characters around findings, including non-ASCII ones', () => {
    expect(redact('Écrivez à «ada@example.com» — merci 🙂').text).toBe('Écrivez à «[REDACTED:email]» — merci 🙂');
    expect(redact('line1\nada@example.com\r\nline3').text).toBe('line1\n[REDACTED:email]\r\nline3');
  });
});
