import { describe, expect, it } from 'vitest';
import { checkNodeVersion } from '../src/cli/doctor-checks.js';
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
    expect(checkNodeVersion('22.21.0')).toMatchObject({ check: 'node-version', name: 'Node version', status: 'fail', fix: expect.stringContaining('CVE-2025-55130') });
    expect(checkNodeVersion('22.21.0').fix).toMatch(/^install Node 24 LTS \(or 20\.20\+ \/ 22\.22\+\)/);
    expect(checkNodeVersion('24.13.0')).toMatchObject({ status: 'ok', finding: expect.stringContaining('24.13.0') });
  });
});
