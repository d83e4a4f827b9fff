import type { CoreFrameBody } from '@hearth/shared';
import { builtinCommandNames } from '../commands/builtin.js';
import type { Logger } from '../logger.js';
import { openDatabase } from '../memory/database.js';
import type { PluginsConfig } from './config.js';
import { PushOutbox } from './outbox.js';
import { PluginRegistry } from './registry.js';
import { PluginStateStore } from './state.js';

/** The plugin system of a running core. */
export interface RunningPlugins {
  registry: PluginRegistry;
  outbox: PushOutbox;
  /** Stops every child and the watcher, and closes the database connection. */
  close(): Promise<void>;
}

/**
 * Starts the plugin system: its state and outbox in the core's SQLite (a connection of its own),
 * the registry on the plugins folder. `send` is the tunnel's; pushes wait in the outbox while it
 * returns false, until `outbox.flush()` (on the tunnel's `ready`).
 *
 * @example
 * const plugins = await startPlugins({ config: config.plugins, databasePath, log, env: process.env, send: (f) => tunnel.send(f) });
 */
export async function startPlugins(options: {
  config: PluginsConfig;
  databasePath: string;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
  send: (frame: CoreFrameBody) => boolean;
}): Promise<RunningPlugins> {
  const db = openDatabase(options.databasePath);
  try {
    const state = new PluginStateStore(db);
    const log = options.log.child({ component: 'plugins' });
    const outbox = new PushOutbox(db, options.send, log);
    const registry = await PluginRegistry.open({
      dir: options.config.dir,
      dataDir: options.config.dataDir,
      state,
      outbox,
      log,
      env: options.env,
      builtins: builtinCommandNames(),
      netns: options.config.netns,
    });
    return {
      registry,
      outbox,
      close: async () => {
        await registry.stop();
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}
