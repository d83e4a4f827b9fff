import { existsSync } from 'node:fs';
import { z } from 'zod';
import { parseEnv } from '../env.js';
import { ConfigError } from '../errors.js';

const onOff = (name: string, fallback: 'on' | 'off') => z.enum(['on', 'off'], { error: `${name} must be on or off` }).default(fallback);

/** The plugin system's environment variables, defaults included. */
export const PluginsEnvSchema = z.object({
  HEARTH_PLUGINS: onOff('HEARTH_PLUGINS', 'on'),
  HEARTH_PLUGINS_DIR: z.string().min(1, 'HEARTH_PLUGINS_DIR must be a folder path').default('plugins'),
  HEARTH_PLUGINS_NETNS: onOff('HEARTH_PLUGINS_NETNS', 'off'),
  // The core's data folder (memory/config.ts validates it too): plugin data lives under it.
  HEARTH_DATA_DIR: z.string().min(1).default('.hearth'),
});

export interface PluginsConfig {
  /** HEARTH_PLUGINS=on: plugins are loaded and watched. */
  enabled: boolean;
  /** Where plugin folders are (HEARTH_PLUGINS_DIR). */
  dir: string;
  /** The core's data folder: each plugin's data in `plugins/<name>/` under it, their state in its core.db. */
  dataDir: string;
  /** `unshare` to put each plugin child in a network namespace of its own; undefined: Node's sandbox alone. */
  netns: string | undefined;
}

const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'];

/**
 * Validates the plugin settings. HEARTH_PLUGINS_NETNS=on adds an OS-level layer under the
 * Node sandbox (no network interface but loopback, in a namespace of the child's own): it needs
 * util-linux's `unshare` and root (or CAP_SYS_ADMIN), and says so when it cannot work.
 *
 * @throws ConfigError naming the variable and the fix
 * @example
 * const plugins = loadPluginsConfig(process.env); // { enabled: true, dir: 'plugins', dataDir: '.hearth', netns: undefined }
 */
export function loadPluginsConfig(env: NodeJS.ProcessEnv): PluginsConfig {
  const e = parseEnv(PluginsEnvSchema, env);
  let netns: string | undefined;
  if (e.HEARTH_PLUGINS_NETNS === 'on') {
    netns = UNSHARE.find((path) => existsSync(path));
    if (!netns) throw new ConfigError('HEARTH_PLUGINS_NETNS=on needs util-linux unshare (apt install util-linux), or set it off');
    if (process.getuid?.() !== 0) throw new ConfigError('HEARTH_PLUGINS_NETNS=on needs the core to run as root (or with CAP_SYS_ADMIN); set it off otherwise');
  }
  return { enabled: e.HEARTH_PLUGINS === 'on', dir: e.HEARTH_PLUGINS_DIR, dataDir: e.HEARTH_DATA_DIR, netns };
}
