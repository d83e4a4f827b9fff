import type { CoreFrameBody } from '@hearth/shared';
import { builtinCommandNames } from '../commands/builtin.js';
import type { Logger } from '../logger.js';
import { openDatabase } from '../memory/database.js';
import { ConfigError } from '../errors.js';
import type { PluginsConfig } from './config.js';
import { PluginDataStore } from './data-store.js';
import { PushOutbox } from './outbox.js';
import { PluginRegistry } from './registry.js';
import { type NamespaceSupport, namespaceSupport } from './sandbox.js';
import { PluginStateStore } from './state.js';

/** The plugin system of a running core. */
export interface RunningPlugins extends AsyncDisposable {
  registry: PluginRegistry;
  outbox: PushOutbox;
  /** Stops every child and the watcher, and closes the database connection. Idempotent. */
  dispose(): Promise<void>;
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
      data: new PluginDataStore(db),
      outbox,
      log,
      env: options.env,
      sharedSecrets: options.config.sharedSecrets,
      builtins: builtinCommandNames(),
      namespaces: isolationOf(options.config, log),
    });
    let disposing: Promise<void> | undefined;
    const dispose = () => {
      disposing ??= (async () => {
        await registry.dispose();
        db.close();
      })();
      return disposing;
    };
    return { registry, outbox, dispose, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * The operating-system layer under the engine, as the owner chose it: `namespaces` refuses to run
 * plugins without it, `auto` says once that it is missing and why.
 *
 * @throws ConfigError HEARTH_PLUGINS_ISOLATION=namespaces where bubblewrap cannot make them
 */
function isolationOf(config: PluginsConfig, log: Logger): NamespaceSupport | undefined {
  if (config.isolation === 'off') return undefined;
  const support = namespaceSupport();
  if (support.ok) {
    log.info({ isolation: 'namespaces' }, 'plugin hosts run in namespaces of their own (bubblewrap)');
    return support;
  }
  if (config.isolation === 'namespaces') throw new ConfigError(`HEARTH_PLUGINS_ISOLATION=namespaces, but ${support.reason}; install it or set auto`);
  log.warn({ isolation: 'none', reason: support.reason }, 'plugin hosts run without namespaces of their own: the QuickJS engine and Node permissions are the boundary');
  return undefined;
}
