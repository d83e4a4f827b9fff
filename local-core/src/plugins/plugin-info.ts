import type { Manifest } from './manifest.js';
import { type RouteTable, routeTable } from './routes.js';
import type { ScannedPlugin } from './scan.js';

/** One plugin as `hearth plugins list` shows it. */
export interface PluginInfo {
  name: string;
  version: string | undefined;
  description: string | undefined;
  enabled: boolean;
  /** Loadable: a valid manifest and entry (it may still be disabled). */
  valid: boolean;
  commands: string[];
  tools: string[];
  schedules: string[];
  /** Hosts it may reach (`network`), the non-public addresses granted to it (`lan`: this machine, the LAN), secrets, data folder. */
  permissions: Manifest['permissions'] | undefined;
  limits: Manifest['limits'] | undefined;
  problems: string[];
  dir: string;
}

/**
 * What each plugin found is, offers and needs, with every problem: its manifest's, the commands
 * and tools it lost to built-ins or to another plugin, and declared secrets that are not set.
 *
 * @example
 * const infos = pluginInfos(await scanPlugins('plugins'), state.disabled(), builtinCommandNames(), process.env);
 */
export function pluginInfos(
  scanned: readonly ScannedPlugin[],
  disabled: ReadonlySet<string>,
  builtins: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  routes: RouteTable = routeTable(
    scanned.map((plugin) => ({ name: plugin.name, enabled: !disabled.has(plugin.name), manifest: plugin.manifest })),
    builtins,
  ),
): PluginInfo[] {
  return scanned.map((plugin) => {
    const manifest = plugin.manifest;
    const missing = (manifest?.permissions.secrets ?? []).filter((name) => !env[name]).map((name) => `secret ${name} is not set in the core's environment`);
    return {
      name: plugin.name,
      version: manifest?.version,
      description: manifest?.description,
      enabled: !disabled.has(plugin.name),
      valid: manifest !== undefined,
      commands: manifest?.commands.map((command) => command.name) ?? [],
      tools: manifest?.tools.map((tool) => tool.name) ?? [],
      schedules: manifest?.schedules.map((schedule) => `${schedule.name} (${schedule.cron})`) ?? [],
      permissions: manifest?.permissions,
      limits: manifest?.limits,
      problems: [...plugin.problems, ...(routes.conflicts.get(plugin.name) ?? []), ...missing],
      dir: plugin.dir,
    };
  });
}
