import { z } from 'zod';
import { parseEnv } from '../env.js';
import type { IsolationMode } from './sandbox.js';

const onOff = (name: string, fallback: 'on' | 'off') => z.enum(['on', 'off'], { error: `${name} must be on or off` }).default(fallback);

/** The plugin system's environment variables, defaults included. */
export const PluginsEnvSchema = z.object({
  HEARTH_PLUGINS: onOff('HEARTH_PLUGINS', 'on').meta({ description: '`off`: no plugins are loaded' }),
  HEARTH_PLUGINS_DIR: z.string().min(1, 'HEARTH_PLUGINS_DIR must be a folder path').default('plugins').meta({ description: 'the plugins folder, watched while the core runs' }),
  HEARTH_PLUGINS_ISOLATION: z
    .enum(['auto', 'namespaces', 'off'], { error: 'HEARTH_PLUGINS_ISOLATION must be auto (namespaces where bubblewrap works), namespaces (required) or off' })
    .default('auto')
    .meta({ description: 'plugin hosts in namespaces of their own (bubblewrap): `auto` where it works (said once at start when it does not), `namespaces` required, `off` never' }),
  HEARTH_PLUGINS_SHARED_SECRETS: z
    .string()
    .regex(/^(?:[A-Z][A-Z0-9_]{0,63}(?:,[A-Z][A-Z0-9_]{0,63})*)?$/, 'HEARTH_PLUGINS_SHARED_SECRETS is a comma-separated list of variable names, e.g. WEATHER_API_KEY,MAPS_KEY')
    .default('')
    .meta({ description: 'comma-separated variables several plugins may declare (otherwise one declared by two is refused for both)' }),
  // The core's data folder (memory/config.ts validates it too): plugin host logs live under it.
  HEARTH_DATA_DIR: z.string().min(1).default('.hearth'),
});

export interface PluginsConfig {
  /** HEARTH_PLUGINS=on: plugins are loaded and watched. */
  enabled: boolean;
  /** Where plugin folders are (HEARTH_PLUGINS_DIR). */
  dir: string;
  /** The core's data folder: plugin host logs in `plugins/.logs/` under it, plugin state and data in its core.db. */
  dataDir: string;
  /** Whether plugin hosts get namespaces of their own (bubblewrap): when it works, always, never. */
  isolation: IsolationMode;
  /** Secrets several plugins may declare. */
  sharedSecrets: ReadonlySet<string>;
}

/**
 * Validates the plugin settings.
 *
 * @throws ConfigError naming the variable and the fix
 * @example
 * const plugins = loadPluginsConfig(process.env); // { enabled: true, dir: 'plugins', dataDir: '.hearth', isolation: 'auto', sharedSecrets: Set {} }
 */
export function loadPluginsConfig(env: NodeJS.ProcessEnv): PluginsConfig {
  const e = parseEnv(PluginsEnvSchema, env);
  return {
    enabled: e.HEARTH_PLUGINS === 'on',
    dir: e.HEARTH_PLUGINS_DIR,
    dataDir: e.HEARTH_DATA_DIR,
    isolation: e.HEARTH_PLUGINS_ISOLATION,
    sharedSecrets: new Set(e.HEARTH_PLUGINS_SHARED_SECRETS.split(',').filter(Boolean)),
  };
}
