import { describe, expect, it } from 'vitest';
import { formatPairResult } from '../src/cli/pair.js';

const result = { v: 1, type: 'access_result', request_id: 'r', ok: true } as const;

describe('hearth pair output', () => {
  it('says who was approved and whether their message is on its way', () => {
    expect(formatPairResult({ ...result, approved: { sender: 'telegram:42', name: 'Ada', released: true } })).toBe(
      'approved telegram:42 (Ada): their waiting message is queued and will be answered\n',
    );
    expect(formatPairResult({ ...result, approved: { sender: 'whatsapp:1555', released: false } })).toBe('approved whatsapp:1555\n');
  });

  it('tells a revoke that shut someone out from one that found nobody', () => {
    expect(formatPairResult({ ...result, revoked: true })).toMatch(/^revoked/);
    expect(formatPairResult({ ...result, revoked: false })).toMatch(/was not approved by pairing/);
  });

  it('lists waiting codes and approved senders with their times', () => {
    const listed = formatPairResult({
      ...result,
      pending: [{ code: 'ABCD-EFGH', sender: 'telegram:7', name: 'Bob', expires_at: Date.UTC(2026, 10, 25, 12, 0, 0) }],
      senders: [{ sender: 'whatsapp:1555', approved_at: Date.UTC(2026, 10, 24, 9, 30, 0) }],
    });
    expect(listed.split('\n')).toEqual([
      'waiting for approval (hearth pair approve CODE):',
      '  ABCD-EFGH  telegram:7 (Bob)  expires 2026-11-25T12:00:00Z',
      'approved by pairing (hearth pair revoke SENDER):',
      '  whatsapp:1555  since 2026-11-24T09:30:00Z',
      '',
    ]);
    expect(formatPairResult({ ...result, pending: [], senders: [] })).toBe('no codes waiting\nnobody approved by pairing yet\n');
  });

  it('tells the owner how many codes the edge refused or evicted, per reason and since when', () => {
    const since = Date.UTC(2026, 10, 20, 8, 0, 0);
    const last = Date.UTC(2026, 10, 25, 11, 30, 0);
    const listed = formatPairResult({
      ...result,
      pending: [{ code: 'ABCD-EFGH', sender: 'telegram:-1007221', name: 'Channel', expires_at: Date.UTC(2026, 10, 25, 12, 0, 0) }],
      senders: [],
      refusals: [
        { reason: 'evicted', count: 40, since, last_at: last },
        { reason: 'source_pending', count: 12, since, last_at: last },
      ],
    });
    expect(listed.split('\n')).toEqual([
      'waiting for approval (hearth pair approve CODE):',
      '  ABCD-EFGH  telegram:-1007221 (Channel)  expires 2026-11-25T12:00:00Z',
      'nobody approved by pairing yet',
      'codes turned away (many mean someone is flooding pairing):',
      '  40 since 2026-11-20T08:00:00Z, last 2026-11-25T11:30:00Z  evicted: the oldest code, dropped for a newer one (HEARTH_PAIRING_MAX_PENDING were waiting)',
      '  12 since 2026-11-20T08:00:00Z, last 2026-11-25T11:30:00Z  refused: their group or channel already had a code waiting',
      '',
    ]);
  });

  it('shows a reason of a newer edge as it is, and says nothing when nothing was turned away', () => {
    const at = Date.UTC(2026, 10, 24, 9, 30, 0);
    const listed = formatPairResult({ ...result, pending: [], senders: [], refusals: [{ reason: 'rate_limited', count: 2, since: at, last_at: at }] });
    expect(listed).toContain('  2 since 2026-11-24T09:30:00Z, last 2026-11-24T09:30:00Z  rate_limited\n');
    expect(formatPairResult({ ...result, pending: [], senders: [], refusals: [] })).not.toContain('turned away');
  });
});
