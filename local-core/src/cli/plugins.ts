import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { builtinCommandNames } from '../commands/builtin.js';
import { loadMemoryConfig } from '../memory/config.js';
import { ConfigError } from '../errors.js';
import { openDatabase } from '../memory/database.js';
import { loadPluginsConfig } from '../plugins/config.js';
import { isPluginName } from '../plugins/manifest.js';
import { type PluginInfo, pluginInfos } from '../plugins/plugin-info.js';
import { scaffoldPlugin } from '../plugins/scaffold.js';
import { scanPlugins } from '../plugins/scan.js';
import { PluginStateStore } from '../plugins/state.js';
import { runCommand } from './run.js';

/** The plugins' state store on the core's database, for one command. */
function withState<T>(work: (state: PluginStateStore) => T): T {
  const db = openDatabase(loadMemoryConfig(process.env).databasePath);
  try {
    return work(new PluginStateStore(db));
  } finally {
    db.close();
  }
}

/** A plugin as a few lines for a person. */
export function formatPlugin(info: PluginInfo): string {
  const lines = [`${info.name} ${info.version ?? '?'} — ${info.enabled ? 'enabled' : 'disabled'}${info.valid ? '' : ', NOT LOADABLE'}`];
  if (info.description) lines.push(`  ${info.description}`);
  if (info.commands.length) lines.push(`  commands: ${info.commands.map((c) => `/${c}`).join(' ')}`);
  if (info.tools.length) lines.push(`  tools: ${info.tools.join(', ')}`);
  if (info.schedules.length) lines.push(`  schedules: ${info.schedules.join(', ')}`);
  if (info.permissions) {
    const { network, lan, secrets, data } = info.permissions;
    // Grants past the public internet (this machine, the LAN) are spelled out for the owner.
    const local = lan.length ? `; local network (lan): ${lan.join(', ')}` : '';
    lines.push(`  may reach: ${network.join(', ') || 'no network'}${local}; secrets: ${secrets.join(', ') || 'none'}; data folder: ${data ? 'yes' : 'no'}`);
  }
  if (info.limits) lines.push(`  budget: ${info.limits.timeout_ms} ms a call, ${info.limits.memory_mb} MB, ${info.limits.idle_cpu_ms} ms of CPU a second outside calls`);
  for (const problem of info.problems) lines.push(`  problem: ${problem}`);
  return lines.join('\n');
}

/** `hearth plugins list|enable|disable|new`. */
export function registerPluginsCommand(program: Command): void {
  const plugins = program.command('plugins').description('plugins in HEARTH_PLUGINS_DIR: what they offer and may do, switch them on and off, start a new one');
  plugins
    .command('list')
    .description('every plugin found: version, enabled, commands, tools, permissions and problems')
    .option('--json', 'print JSON for programs', false)
    .action((options: { json: boolean }) =>
      runCommand(async () => {
        const config = loadPluginsConfig(process.env);
        const scanned = await scanPlugins(config.dir);
        const infos = pluginInfos(scanned, withState((state) => state.disabled()), builtinCommandNames(), process.env);
        if (options.json) process.stdout.write(`${JSON.stringify(infos, null, 2)}\n`);
        else process.stdout.write(infos.length ? `${infos.map(formatPlugin).join('\n\n')}\n` : `no plugins in ${config.dir} (hearth plugins new NAME makes one)\n`);
      }),
    );
  for (const enabled of [true, false]) {
    plugins
      .command(`${enabled ? 'enable' : 'disable'} <name>`)
      .description(enabled ? 'switch a plugin on (a running core loads it within seconds)' : 'switch a plugin off (a running core stops it within seconds)')
      .action((name: string) =>
        runCommand(async () => {
          // Checked before the name is joined to any path.
          if (!isPluginName(name)) throw new ConfigError(`"${name}" is not a plugin name (1-40 of a-z 0-9 -)`);
          const config = loadPluginsConfig(process.env);
          if (!existsSync(join(config.dir, name, 'plugin.json'))) throw new ConfigError(`no plugin ${name} in ${config.dir} (hearth plugins list shows those found)`);
          withState((state) => state.setEnabled(name, enabled));
          process.stdout.write(`${name} ${enabled ? 'enabled' : 'disabled'}\n`);
        }),
      );
  }
  plugins
    .command('new <name>')
    .description('scaffold a working plugin (manifest and handler with one command and one tool) in HEARTH_PLUGINS_DIR')
    .action((name: string) =>
      runCommand(async () => {
        const dir = await scaffoldPlugin(loadPluginsConfig(process.env).dir, name);
        process.stdout.write(`${dir}\nedit ${join(dir, 'handler.mjs')}; a running core loads it within seconds (hearth plugins list shows it)\n`);
      }),
    );
}
