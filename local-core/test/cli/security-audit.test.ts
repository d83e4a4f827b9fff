import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { type AuditFacts, auditDeployment } from '../../src/security/audit-checks.js';
import { runHearth, tempDir } from '../support.js';

const strong: AuditFacts = {
  core: { HEARTH_EDGE_URL: 'https://hearth.example.workers.dev' },
  edge: { HEARTH_ACCESS_POLICY: 'pairing', TELEGRAM_WEBHOOK_SECRET: 'f3a9c1e07b5d4a28e6c0b9d1f2a3e4c5b6d7e8f9' },
  keyFile: { path: '.hearth/core-key.json', mode: 0o600 },
  settingsFiles: [{ path: '.env', mode: 0o600 }],
  dataDir: { path: '.hearth', mode: 0o700 },
  nodeVersion: '24.13.0',
  plugins: { enabled: true, isolation: 'auto', infos: [] },
  namespaces: { ok: true, bwrap: '/usr/bin/bwrap' },
  tokens: [{ jti: 'a', user: 'ada', lifetimeS: 30 * 86_400 }],
};

describe('hearth security audit: the checks', () => {
  it('finds nothing to fix on a careful deployment', () => {
    expect(auditDeployment(strong).filter((f) => f.severity !== 'info')).toEqual([]);
  });

  it('finds each weakness, most severe first, with a fix', () => {
    const findings = auditDeployment({
      ...strong,
      core: { HEARTH_EDGE_URL: 'http://edge.example.com', HEARTH_ADMIN_HOST: '0.0.0.0', REDIS_URL: 'redis://10.0.0.5:6379' },
      edge: { HEARTH_ACCESS_POLICY_TELEGRAM: 'open', TELEGRAM_WEBHOOK_SECRET: 'hunter2', HEARTH_ALLOWLIST: 'telegram:42,telegram:1087968824', HEARTH_DIAGNOSTICS: 'on' },
      keyFile: { path: 'key.json', mode: 0o644 },
      settingsFiles: [{ path: '.env', mode: 0o640 }],
      dataDir: { path: '.hearth', mode: 0o755 },
      nodeVersion: '22.21.0',
      plugins: { enabled: true, isolation: 'off', infos: [] },
      tokens: [{ jti: 'forever', user: 'bot', lifetimeS: 3_650 * 86_400 }],
    });
    expect(findings.map((f) => [f.id, f.severity])).toEqual([
      ['access-open', 'high'],
      ['allowlist-placeholder', 'high'],
      ['key-mode', 'high'],
      ['settings-mode', 'high'],
      ['admin-exposed', 'high'],
      ['edge-insecure', 'high'],
      ['redis-open', 'high'],
      ['weak-secret', 'high'],
      ['node-version', 'high'],
      ['data-dir-mode', 'medium'],
      ['diagnostics-on', 'medium'],
      ['plugins-no-namespaces', 'medium'],
      ['token-long-lived', 'medium'],
    ]);
    expect(findings.find((f) => f.id === 'key-mode')).toMatchObject({ fix: 'chmod 600 key.json', chmod: { path: 'key.json', mode: 0o600 } });
    for (const finding of findings) expect(finding.fix.length).toBeGreaterThan(5);
  });

  it("lists each plugin's grants, and a LAN grant as a finding of its own", () => {
    const permissions = { network: ['api.example.com'], lan: ['192.168.1.20:8123'], secrets: ['HUB_TOKEN'], data: true };
    const info = { name: 'hub', version: '1.0.0', description: 'x', enabled: true, valid: true, commands: [], tools: [], schedules: [], permissions, limits: undefined, problems: [], dir: '/p/hub' };
    const findings = auditDeployment({ ...strong, plugins: { enabled: true, isolation: 'auto', infos: [info] } });
    expect(findings.find((f) => f.id === 'plugin-lan')).toMatchObject({ severity: 'low', title: expect.stringContaining('192.168.1.20:8123') });
    expect(findings.find((f) => f.id === 'plugin-grants')).toMatchObject({ severity: 'info', detail: 'network: api.example.com; secrets: HUB_TOKEN; data: yes' });
  });
});

describe('hearth security audit: the command', () => {
  it('exits 1 on a weak set-up, --fix makes the key and settings files the owner\'s alone, and the rest stays reported', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      await mkdir(join(dir, '.hearth'), { mode: 0o700 });
      const keyFile = join(dir, '.hearth', 'core-key.json');
      await writeNewKeySet(keyFile);
      await chmod(keyFile, 0o644);
      await writeFile(join(dir, '.env'), 'HEARTH_ADMIN_HOST=0.0.0.0\nHEARTH_PLUGINS=off\n', { mode: 0o644 });
      await chmod(join(dir, '.env'), 0o644);
      const edgeVars = join(dir, 'edge.vars');
      await writeFile(edgeVars, 'HEARTH_ACCESS_POLICY=open\nTELEGRAM_WEBHOOK_SECRET=short\n', { mode: 0o600 });
      const audit = (...extra: string[]) => runHearth(['security', 'audit', '--json', '--edge-vars', edgeVars, ...extra], { cwd: dir });
      const ids = (stdout: string) => (JSON.parse(stdout) as { findings: { id: string }[] }).findings.map((f) => f.id);

      const before = await audit();
      expect(before.code).toBe(1);
      expect(ids(before.stdout)).toEqual(expect.arrayContaining(['access-open', 'key-mode', 'settings-mode', 'admin-exposed', 'weak-secret']));

      const fixed = await audit('--fix');
      expect(JSON.parse(fixed.stdout).fixed).toEqual(['key-mode', 'settings-mode']);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, '.env'))).mode & 0o777).toBe(0o600);
      expect(ids(fixed.stdout)).not.toContain('key-mode');
      expect(ids(fixed.stdout)).toEqual(expect.arrayContaining(['access-open', 'admin-exposed', 'weak-secret']));
      expect(fixed.code).toBe(1);
    } finally {
      await cleanup();
    }
  });
});
