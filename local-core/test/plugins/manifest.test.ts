import { describe, expect, it } from 'vitest';
import { LIMITS, isPluginName, networkAllows, parseManifest } from '../../src/plugins/manifest.js';
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
        permissions: { network: [], secrets: [], data: false },
        limits: { timeout_ms: LIMITS.timeoutMs.default, memory_mb: LIMITS.memoryMb.default },
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
      'permissions.secrets[0]: that variable belongs to the core or to Node and is never given to a plugin',
      'permissions.secrets[1]: that variable belongs to the core or to Node and is never given to a plugin',
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
