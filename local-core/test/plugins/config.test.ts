import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { loadPluginsConfig } from '../../src/plugins/config.js';

describe('plugin settings', () => {
  it('defaults to on, the plugins folder, the core data folder and no network namespace', () => {
    expect(loadPluginsConfig({})).toEqual({ enabled: true, dir: 'plugins', dataDir: '.hearth', netns: undefined });
    expect(loadCoreConfig({ HEARTH_PLUGINS: 'off', HEARTH_PLUGINS_DIR: '/srv/plugins' }).plugins).toMatchObject({ enabled: false, dir: '/srv/plugins' });
  });

  it('names the variable and the fix', () => {
    expect(() => loadCoreConfig({ HEARTH_PLUGINS: 'maybe' })).toThrow('HEARTH_PLUGINS must be on or off');
    expect(() => loadPluginsConfig({ HEARTH_PLUGINS_NETNS: 'yes' })).toThrow('HEARTH_PLUGINS_NETNS must be on or off');
  });

  it.skipIf(process.getuid?.() !== 0)('finds unshare for HEARTH_PLUGINS_NETNS=on when running as root', () => {
    expect(loadPluginsConfig({ HEARTH_PLUGINS_NETNS: 'on' }).netns).toMatch(/\/unshare$/);
  });
});
