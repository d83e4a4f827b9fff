import { describe, expect, it } from 'vitest';
import { isPhoneNumber } from './phones.js';
import { redact } from './redact.js';

describe('phone numbers', () => {
  it('redacts international numbers', () => {
    for (const phone of ['+44 20 7946 0958', '+1 (415) 555-2671', '+14155552671', '+33 1 23 45 67 89', '+49 30 12345678', '+34 612 34 56 78', '+44 (0)20 7946 0958', '+7 912 345-67-89']) {
      expect(redact(`call ${phone} now`).text, phone).toBe('call [REDACTED:phone] now');
    }
    expect(redact('tel:+442079460958').text).toBe('tel:[REDACTED:phone]');
  });

  it('redacts national numbers written in groups', () => {
    for (const phone of ['(415) 555-2671', '415-555-2671', '415.555.2671', '1-800-555-0199', '020 7946 0958', '07700 900123', '06 12 34 56 78', '0151 23456789', '612 34 56 78', '0044 20 7946 0958']) {
      expect(redact(`ring ${phone}, thanks`).text, phone).toBe('ring [REDACTED:phone], thanks');
    }
  });

  it('leaves dates, times, timestamps, versions, addresses, amounts and ids', () => {
    for (const text of [
      '2026-11-25',
      'on 2026-11-25 at 10:30',
      '2026-11-25T10:00:00Z',
      '2026-11-25T10:00:00.123+01:00',
      '2026-11-25 10:30:00',
      '25.11.2026 14.30',
      '11/25/2026',
      '10:30:45',
      'v1.2.3',
      '1.2.3.4',
      '10.0.19045.2965',
      '1.22.333.4444',
      '192.168.100.200',
      '192.168.1.1:8080',
      '1,234.56',
      '1 234 567,89',
      '$1,234,567.00',
      '12345',
      'order 12345678',
      'order 4155552671',
      'order #123-456-789',
      'ORD-2026-000123',
      '2026-000123-45',
      'telegram:123456:789',
      'whatsapp:15551234567',
      '1764028800',
      '+01:00',
      '000-12-3456',
      '529.982.247-26',
      'scores 1 2 3 4 5 6 7 8 9 10',
    ]) {
      expect(redact(text).text, text).toBe(text);
    }
  });

  it('needs enough digits', () => {
    expect(isPhoneNumber('+44 20 79')).toBe(false);
    expect(isPhoneNumber('555-0100')).toBe(false);
    expect(isPhoneNumber('020 7946 0958')).toBe(true);
    expect(isPhoneNumber('+1 415 555 2671 12345')).toBe(false); // past E.164's 15 digits
  });
});
