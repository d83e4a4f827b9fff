import { describe, expect, it } from 'vitest';
import { formatPairingCode, normalizePairingCode, SenderKeySchema, senderKeyOf } from './access.js';

describe('access helpers', () => {
  it('reads a pairing code however the owner typed it', () => {
    expect(normalizePairingCode(' abcd-efgh ')).toBe('ABCDEFGH');
    expect(formatPairingCode('ABCDEFGH')).toBe('ABCD-EFGH');
  });

  it('accepts platform:id senders and names the problem otherwise', () => {
    expect(SenderKeySchema.safeParse('telegram:42').success).toBe(true);
    expect(SenderKeySchema.safeParse('whatsapp:15551234567').success).toBe(true);
    expect(SenderKeySchema.safeParse('42').error?.issues[0]?.message).toMatch(/platform:id/);
    expect(SenderKeySchema.safeParse('signal:42').error?.issues[0]?.message).toMatch(/starts with telegram:/);
  });

  it('keys a sender by its platform-qualified id', () => {
    expect(senderKeyOf({ sender: { id: 'telegram:42', name: 'Ada' } })).toBe('telegram:42');
  });
});
