import { describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../../src/config.js';
import { loadPluginsConfig } from '../../src/plugins/config.js';

describe('plugin settings', () => {
  it('defaults to on, the plugins folder, the core data folder, namespaces where they work, no shared secrets', () => {
    expect(loadPluginsConfig({})).toEqual({ enabled: true, dir: 'plugins', dataDir: '.hearth', isolation: 'auto', sharedSecrets: new Set() });
    expect(loadCoreConfig({ HEARTH_PLUGINS: 'off', HEARTH_PLUGINS_DIR: '/srv/plugins' }).plugins).toMatchObject({ enabled: false, dir: '/srv/plugins' });
    expect(loadPluginsConfig({ HEARTH_PLUGINS_SHARED_SECRETS: 'MAPS_KEY,WEATHER_API_KEY' }).sharedSecrets).toEqual(new Set(['MAPS_KEY', 'WEATHER_API_KEY']));
  });

  it('names the variable and the fix', () => {
    expect(() => loadCoreConfig({ HEARTH_PLUGINS: 'maybe' })).toThrow('HEARTH_PLUGINS must be on or off');
    expect(() => loadPluginsConfig({ HEARTH_PLUGINS_ISOLATION: 'yes' })).toThrow('HEARTH_PLUGINS_ISOLATION must be auto');
    expect(() => loadPluginsConfig({ HEARTH_PLUGINS_SHARED_SECRETS: 'weather key' })).toThrow('comma-separated list of variable names');
  });
});
