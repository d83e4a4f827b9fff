import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadApprovalConfig } from '../../src/approval/config.js';
import { TurnDeadline } from '../../src/approval/deadline.js';
import { ConfigError } from '../../src/errors.js';

describe('approval settings', () => {
  it('waits two minutes by default, and has no owner unless one is named', () => {
    expect(loadApprovalConfig({})).toEqual({ timeoutMs: 120_000, owners: new Set(), always: new Set(), never: new Set() });
  });

  it('takes HEARTH_OWNER, else the senders of HEARTH_ALLOWLIST', () => {
    expect(loadApprovalConfig({ HEARTH_ALLOWLIST: 'telegram:42, whatsapp:15551234567' }).owners).toEqual(new Set(['telegram:42', 'whatsapp:15551234567']));
    expect(loadApprovalConfig({ HEARTH_ALLOWLIST: 'telegram:42', HEARTH_OWNER: 'telegram:7' }).owners).toEqual(new Set(['telegram:7']));
  });

  it('reads the tool lists and the timeout', () => {
    const config = loadApprovalConfig({ HEARTH_APPROVE_TOOLS: 'send_mail,files.delete', HEARTH_APPROVE_NEVER: 'get_weather', HEARTH_APPROVAL_TIMEOUT_MS: '30000' });
    expect(config).toMatchObject({ timeoutMs: 30_000, always: new Set(['send_mail', 'files.delete']), never: new Set(['get_weather']) });
  });

  it('names the variable of a bad value', () => {
    expect(() => loadApprovalConfig({ HEARTH_OWNER: 'ada' })).toThrow(ConfigError);
    expect(() => loadApprovalConfig({ HEARTH_OWNER: 'ada' })).toThrow(/HEARTH_OWNER: a sender is platform:id/);
    expect(() => loadApprovalConfig({ HEARTH_OWNER: 'telegram:1087968824' })).toThrow(/HEARTH_OWNER: .*placeholder/);
    expect(() => loadApprovalConfig({ HEARTH_APPROVAL_TIMEOUT_MS: '10' })).toThrow('HEARTH_APPROVAL_TIMEOUT_MS must be at least 5000');
    expect(() => loadApprovalConfig({ HEARTH_APPROVE_TOOLS: 'a b' })).toThrow(/HEARTH_APPROVE_TOOLS is a comma-separated list/);
  });
});

describe('TurnDeadline', () => {
  // Fake timers: "no abort while held" is shown by moving time past the limit, not by sleeping.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('aborts when the time is up, and not while held', () => {
    const deadline = new TurnDeadline(30);
    const release = deadline.hold();
    vi.advanceTimersByTime(80);
    expect(deadline.aborted).toBe(false);
    release();
    release();
    vi.advanceTimersByTime(29);
    expect(deadline.aborted).toBe(false);
    vi.advanceTimersByTime(1);
    expect(deadline.aborted).toBe(true);
    expect(deadline.signal.aborted).toBe(true);
  });

  it('never fires once disposed', () => {
    const deadline = new TurnDeadline(10);
    deadline.dispose();
    deadline.hold()();
    vi.advanceTimersByTime(40);
    expect(deadline.aborted).toBe(false);
  });
});
