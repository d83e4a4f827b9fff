import { describe, expect, it } from 'vitest';
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
  it('aborts when the time is up, and not while held', async () => {
    const deadline = new TurnDeadline(30);
    const release = deadline.hold();
    const aborted = new Promise((resolve) => deadline.signal.addEventListener('abort', resolve));
    // Held: the 30 ms pass without an abort; a timer longer than them proves it.
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(deadline.aborted).toBe(false);
    release();
    release();
    await aborted;
    expect(deadline.aborted).toBe(true);
  });

  it('never fires once disposed', async () => {
    const deadline = new TurnDeadline(10);
    deadline.dispose();
    deadline.hold()();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(deadline.aborted).toBe(false);
  });
});
