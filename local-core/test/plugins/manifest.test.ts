import { describe, expect, it } from 'vitest';
import { formatPlugin } from '../../src/cli/plugins.js';
import { LIMITS, isPluginName, networkAllows, parseManifest } from '../../src/plugins/manifest.js';
import type { PluginInfo } from '../../src/plugins/plugin-info.js';
import { manifest } from './support.js';

const problemsOf = (value: Record<string, unknown>, folder = String(value.name)) => {
  const result = parseManifest(value, folder);
  return result.ok ? [] : result.problems;
};

describe('plugin.json', () => {
  it('fills defaults: no commands, tools or schedules, no permissions, the default budgets', () => {
    const result = parseManifest(manifest('weather'), 'weather');
    expect(result).toEqual({
      ok: true,
      manifest: {
        ...manifest('weather'),
        commands: [],
        tools: [],
        schedules: [],
        permissions: { network: [], lan: [], secrets: [], data: false },
        limits: { timeout_ms: LIMITS.timeoutMs.default, memory_mb: LIMITS.memoryMb.default, idle_cpu_ms: LIMITS.idleCpuMs.default },
      },
    });
  });

  it.each(['../x', 'a/b', '..', '', 'Weather', 'x'.repeat(41), 'we ather', 'a\\b'])('refuses %j as a plugin name before any path is built from it', (name) => {
    expect(isPluginName(name)).toBe(false);
  });

  it.each([
    ['/etc/passwd.js', 'entry must be a path relative to the plugin folder'],
    ['../other/handler.js', 'entry must stay inside the plugin folder'],
    ['lib/../../x.mjs', 'entry must stay inside the plugin folder'],
    ['handler.ts', 'entry must be a .js or .mjs file'],
  ])('refuses the entry %j: %s', (entry, problem) => {
    expect(problemsOf(manifest('p', { entry }))).toEqual([expect.stringContaining(`entry: ${problem}`)]);
  });

  it('names the field of each problem and how to fix it', () => {
    expect(
      problemsOf(
        manifest('p', {
          version: '1',
          commands: [{ name: '/Weather', description: 'x' }],
          schedules: [{ name: 'tick', cron: 'every minute' }],
          permissions: { network: ['https://api.example.com'], secrets: ['HEARTH_KEY_FILE', 'NODE_OPTIONS'] },
          limits: { timeout_ms: 10_000_000, memory_mb: 1 },
          colour: 'blue',
        }),
      ),
    ).toEqual([
      expect.stringMatching(/^version: version must be semver/),
      expect.stringMatching(/^commands\[0\]\.name: a command name is 1-32 of a-z 0-9 _/),
      expect.stringMatching(/^schedules\[0\]\.cron: not a cron expression .*"\* \* \* \* \*"/),
      expect.stringMatching(/^permissions\.network\[0\]: a network permission is a host name or host:port/),
      expect.stringMatching(/^permissions\.secrets\[0\]: that variable belongs to the core.* and is never given to a plugin$/),
      expect.stringMatching(/^permissions\.secrets\[1\]: that variable belongs to the core.* and is never given to a plugin$/),
      expect.stringMatching(/^limits\.timeout_ms: /),
      expect.stringMatching(/^limits\.memory_mb: /),
      expect.stringMatching(/^plugin\.json: .*colour/),
    ]);
  });

  it('requires tool parameters to be a valid object JSON Schema (strict: unknown keywords are errors)', () => {
    const tool = (parameters: unknown) => manifest('p', { tools: [{ name: 'get_weather', description: 'x', parameters }] });
    expect(problemsOf(tool({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }))).toEqual([]);
    expect(problemsOf(tool({ type: 'string' }))).toEqual(['tools[0].parameters: parameters must be a JSON Schema with "type": "object"']);
    expect(problemsOf(tool({ type: 'object', properties: { city: { type: 'string', colour: 'red' } } }))).toEqual([expect.stringContaining('unknown keyword: "colour"')]);
  });

  it('requires the name to be the folder name', () => {
    expect(problemsOf(manifest('weather'), 'reminders')).toEqual(['name: "weather" must equal the folder name "reminders" (rename one of them)']);
  });
});

describe('lan permissions', () => {
  const lan = (grants: unknown[]) => problemsOf(manifest('p', { permissions: { lan: grants } }));
  const SYNTAX = 'a lan grant is ADDRESS:PORT or CIDR:PORT, IPv6 in brackets, e.g. "192.168.1.20:8123", "10.0.0.0/24:80" or "[fd00::5]:8123"';

  it('accepts addresses and ranges with a port, IPv6 in brackets', () => {
    const grants = ['192.168.1.20:8123', '10.0.0.0/24:80', '127.0.0.1:8080', '[fd00::5]:8123', '[fd00::/64]:80', '[::1]:65535'];
    const result = parseManifest(manifest('p', { permissions: { lan: grants } }), 'p');
    expect(result.ok && result.manifest.permissions).toEqual({ network: [], lan: grants, secrets: [], data: false });
  });

  it.each([
    ['192.168.1.20', '"192.168.1.20" is not ADDRESS:PORT'],
    ['fd00::5:80', '"fd00::5:80" is not ADDRESS:PORT'],
    ['printer.lan:80', '"printer.lan:80" is not ADDRESS:PORT'],
    ['192.168.1.20:0', '"192.168.1.20:0" is not ADDRESS:PORT'],
    ['192.168.1.20:70000', 'port 70000 is over 65535'],
    ['192.168.1.300:80', '192.168.1.300 is not an IPv4 address'],
    ['0x7f.1:80', '"0x7f.1:80" is not ADDRESS:PORT'],
    ['[fd00::zz]:80', '"[fd00::zz]:80" is not ADDRESS:PORT'],
    ['[fd00:::5]:80', 'fd00:::5 is not an IPv6 address'],
    ['10.0.0.0/33:80', '/33 is too long a prefix for 10.0.0.0'],
    ['10.0.0.5/24:80', '10.0.0.5/24 has bits set past the prefix; write the network, 10.0.0.0/24'],
  ])('refuses %j: %s, with the syntax and an example', (grant, why) => {
    expect(lan([grant])).toEqual([`permissions.lan[0]: ${why}; ${SYNTAX}`]);
  });

  it('is shown to the owner beside network by hearth plugins list', () => {
    const result = parseManifest(manifest('hub', { permissions: { network: ['hub.lan:8123'], lan: ['192.168.1.20:8123'] } }), 'hub');
    if (!result.ok) throw new Error(result.problems.join('; '));
    const { name, version, description, permissions, limits } = result.manifest;
    const info: PluginInfo = { name, version, description, enabled: true, valid: true, commands: [], tools: [], schedules: [], permissions, limits, problems: [], dir: '/plugins/hub' };
    expect(formatPlugin(info)).toContain('may reach: hub.lan:8123; local network (lan): 192.168.1.20:8123; secrets: none; data folder: no');
  });

  it('takes at most 32 grants, strings only', () => {
    expect(lan(Array.from({ length: 33 }, (_, i) => `10.0.0.${i}:80`))).toEqual(['permissions.lan: at most 32 lan grants']);
    expect(lan([80])).toEqual([expect.stringMatching(/^permissions\.lan\[0\]: /)]);
  });
});

describe('network permissions', () => {
  const allows = (allowed: string[], url: string) => networkAllows(allowed, new URL(url));
  it('reads a bare host as its http and https ports, host:port as that port only', () => {
    expect(allows(['api.example.com'], 'https://api.example.com/v1')).toBe(true);
    expect(allows(['api.example.com'], 'http://api.example.com/v1')).toBe(true);
    expect(allows(['api.example.com'], 'https://api.example.com:8443/')).toBe(false);
    expect(allows(['api.example.com'], 'https://evil.example.com/')).toBe(false);
    expect(allows(['api.example.com'], 'https://api.example.com.evil.net/')).toBe(false);
    expect(allows(['127.0.0.1:8080'], 'http://127.0.0.1:8080/x')).toBe(true);
    expect(allows(['127.0.0.1:8080'], 'http://127.0.0.1:8081/x')).toBe(false);
    expect(allows(['127.0.0.1:8080'], 'http://localhost:8080/x')).toBe(false);
  });
});
