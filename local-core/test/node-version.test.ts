import { describe, expect, it } from 'vitest';
import { checkNode, checkPluginSandbox } from '../src/cli/doctor-checks.js';
import { NODE_ENGINES, nodeVersionProblem } from '../src/node-version.js';

describe('nodeVersionProblem', () => {
  it.each([
    ['20.19.9', false],
    ['20.20.0', true],
    ['v20.20.2', true],
    ['22.21.0', false],
    ['22.22.0', true],
    ['24.12.0', false],
    ['24.13.0', true],
    ['25.2.1', false],
    ['25.3.0', true],
    ['26.0.0', true],
    ['21.7.3', false],
    ['23.11.0', false],
    ['18.20.0', false],
  ])('%s → %s', (version, fine) => {
    expect(nodeVersionProblem(version) === undefined).toBe(fine);
  });

  it('says which release of the line has the fixes, or that the line is over', () => {
    expect(nodeVersionProblem('22.21.0')).toBe('Node.js 22.21.0 is older than 22.22.0, the first 22.x with the January 2026 security fixes');
    expect(nodeVersionProblem('23.11.0')).toBe('Node.js 23 is end of life: its line gets no security fixes');
    expect(nodeVersionProblem('18.20.0')).toBe(`Node.js 18.20.0 is too old: Hearth needs ${NODE_ENGINES}`);
    expect(nodeVersionProblem('twenty')).toContain('cannot read');
  });
});

describe('hearth doctor: Node version', () => {
  it('fails a release without the fixes, with the upgrade and the CVE, and passes one with them', () => {
    expect(checkNode('22.21.0')).toMatchObject({ check: 'node', name: 'Node.js', status: 'fail', fix: expect.stringContaining('CVE-2025-55130') });
    expect(checkNode('22.21.0').fix).toMatch(/^install Node 24 LTS \(or 20\.20\+ \/ 22\.22\+\)/);
    expect(checkNode('18.19.1')).toMatchObject({ status: 'fail', finding: expect.stringContaining('18.19.1') });
    expect(checkNode('24.13.0')).toMatchObject({ status: 'ok', finding: expect.stringContaining('24.13.0') });
  });
});

describe('hearth doctor: the plugin sandbox', () => {
  const config = (isolation: 'auto' | 'namespaces' | 'off', enabled = true) => ({ enabled, dir: 'plugins', dataDir: '.hearth', isolation, sharedSecrets: new Set<string>() });
  const missing = () => ({ ok: false as const, reason: 'bubblewrap is not installed (apt install bubblewrap)' });
  const present = () => ({ ok: true as const, bwrap: '/usr/bin/bwrap' });

  it('is ok with namespaces, a warning without them on auto, a failure when they are required', () => {
    expect(checkPluginSandbox(config('auto'), present)).toMatchObject({ check: 'plugins', status: 'ok', finding: expect.stringContaining('/usr/bin/bwrap') });
    expect(checkPluginSandbox(config('auto'), missing)).toMatchObject({ status: 'warn', finding: expect.stringContaining('bubblewrap is not installed') });
    expect(checkPluginSandbox(config('namespaces'), missing)).toMatchObject({ status: 'fail', fix: expect.stringContaining('apt install bubblewrap') });
    expect(checkPluginSandbox(config('off'), present)).toMatchObject({ status: 'warn', finding: expect.stringContaining('HEARTH_PLUGINS_ISOLATION=off') });
    expect(checkPluginSandbox(config('auto', false), missing)).toMatchObject({ status: 'ok' });
  });
});
