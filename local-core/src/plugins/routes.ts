import type { Manifest } from './manifest.js';

/** A plugin as routing sees it. */
export interface Routable {
  name: string;
  enabled: boolean;
  manifest: Manifest | undefined;
}

/** Which plugin answers each command and owns each tool, and what was left out and why. */
export interface RouteTable {
  commands: Map<string, { plugin: string; description: string }>;
  tools: Map<string, { plugin: string; tool: Manifest['tools'][number] }>;
  /** Per plugin, the declarations that were ignored. */
  conflicts: Map<string, string[]>;
}

/**
 * Routes commands and tools to enabled plugins: built-in commands win, then the first plugin by
 * name; every declaration left out is reported on the plugin that lost.
 *
 * @example
 * const routes = routeTable(plugins, builtinCommandNames());
 * routes.commands.get('weather')?.plugin // 'weather'
 */
export function routeTable(plugins: readonly Routable[], builtins: readonly string[]): RouteTable {
  const table: RouteTable = { commands: new Map(), tools: new Map(), conflicts: new Map() };
  const conflict = (plugin: string, text: string) => table.conflicts.set(plugin, [...(table.conflicts.get(plugin) ?? []), text]);
  for (const plugin of [...plugins].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (!plugin.enabled || !plugin.manifest) continue;
    for (const command of plugin.manifest.commands) {
      const owner = table.commands.get(command.name);
      if (builtins.includes(command.name)) conflict(plugin.name, `command /${command.name} is built in; the plugin's is ignored`);
      else if (owner) conflict(plugin.name, `command /${command.name} is also declared by plugin ${owner.plugin}, which answers it (the first by name)`);
      else table.commands.set(command.name, { plugin: plugin.name, description: command.description });
    }
    for (const tool of plugin.manifest.tools) {
      const owner = table.tools.get(tool.name);
      if (owner) conflict(plugin.name, `tool ${tool.name} is also declared by plugin ${owner.plugin}, which owns it (the first by name)`);
      else table.tools.set(tool.name, { plugin: plugin.name, tool });
    }
  }
  return table;
}
