import { type FSWatcher, watch } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import type { Message } from '@hearth/shared';
import type { Cron } from 'croner';
import type { TurnTool } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import type { PluginDataStore } from './data-store.js';
import { hostFetch, PluginFetchError } from './host-fetch.js';
import type { Manifest } from './manifest.js';
import type { QueuedPush } from './outbox.js';
import { readPluginModules } from './plugin-code.js';
import { type PluginInfo, pluginInfos } from './plugin-info.js';
import { type CallContext, PluginProcess } from './plugin-process.js';
import { pushFor } from './push-policy.js';
import { type RouteTable, routeTable } from './routes.js';
import type { NamespaceSupport } from './sandbox.js';
import { type ScannedPlugin, scanPlugins } from './scan.js';
import { schedulesOf } from './schedules.js';
import { refuseSharedSecrets } from './secret-policy.js';
import type { PluginStateStore } from './state.js';
import { compileToolSchema, describeErrors } from './tool-schema.js';

/** What the pipeline asks of the plugins: commands to route, tools to offer. */
export interface PluginRouter {
  /** Whether an enabled plugin answers `/name` (built-ins are never routed here). */
  hasCommand(name: string): boolean;
  /** The plugin's answer to `/name args`. @throws PluginCallError */
  runCommand(name: string, args: string, message: Message): Promise<string>;
  /** The tools offered to the model for this message's turn, bound to the policy that checks each call. */
  toolsFor(message: Message): TurnTool[];
  /** Plugin commands for `/help`. */
  commandHelp(): { name: string; description: string }[];
}

export interface PluginRegistryOptions {
  /** The plugins folder (HEARTH_PLUGINS_DIR). */
  dir: string;
  /** The core's data folder: plugin host logs go in `<dataDir>/plugins/.logs/`. */
  dataDir: string;
  state: PluginStateStore;
  /** Each plugin's `ctx.data` rows. */
  data: PluginDataStore;
  /** Where pushes go (the outbox in front of the tunnel). */
  outbox: { push(push: QueuedPush): boolean };
  log: Logger;
  /** Where declared secrets are read from (the core's environment). */
  env: Readonly<Record<string, string | undefined>>;
  /** Secrets the owner lets several plugins declare (HEARTH_PLUGINS_SHARED_SECRETS). */
  sharedSecrets?: ReadonlySet<string>;
  /** Built-in command names, which plugins cannot take. */
  builtins: readonly string[];
  /** How often the folder and the enabled state are re-read besides watching (default 2 s). */
  pollMs?: number;
  /** bubblewrap, to give each plugin host namespaces of its own (see sandbox.ts); undefined: none. */
  namespaces?: NamespaceSupport | undefined;
}

interface Loaded {
  scanned: ScannedPlugin;
  manifest: Manifest;
  process: PluginProcess;
  crons: Cron[];
}

const DEBOUNCE_MS = 250;

/**
 * The plugins of one core: found in the plugins folder, validated, each enabled one run in its
 * own sandboxed child (see plugin-process.ts). The folder is watched (and re-read every few
 * seconds, which also picks up `hearth plugins enable|disable`): a plugin added, changed or
 * removed is (re)loaded without a restart, and a call running on the old child finishes there.
 * A bad plugin is reported and the others load.
 *
 * Policy lives here, not in the plugin: a tool runs only if it is in the set offered for the
 * turn and its plugin is still enabled, with arguments that satisfy its schema; a fetch goes only
 * to a declared host; a push goes only to a conversation that has used the plugin.
 *
 * @example
 * const plugins = await PluginRegistry.open({ dir: 'plugins', dataDir: '.hearth', state, outbox, log, env: process.env, builtins: builtinCommandNames() });
 */
export class PluginRegistry implements PluginRouter {
  private readonly loaded = new Map<string, Loaded>();
  private scanned: ScannedPlugin[] = [];
  private disabled = new Set<string>();
  private routes: RouteTable = { commands: new Map(), tools: new Map(), conflicts: new Map() };
  private reloading: Promise<void> = Promise.resolve();
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastReport = '';

  private constructor(private readonly options: PluginRegistryOptions) {}

  /** Loads the plugins and starts watching their folder. */
  static async open(options: PluginRegistryOptions): Promise<PluginRegistry> {
    const registry = new PluginRegistry(options);
    await registry.reload();
    registry.startWatching();
    return registry;
  }

  /** Every plugin found, as `hearth plugins list` shows it. */
  list(): PluginInfo[] {
    return pluginInfos(this.scanned, this.disabled, this.options.builtins, this.options.env, this.routes);
  }

  /** The child of a loaded plugin (tests, status). */
  processOf(name: string): PluginProcess | undefined {
    return this.loaded.get(name)?.process;
  }

  /** Re-reads the folder and the enabled state, and (re)loads what changed. Calls are serialized. */
  reload(): Promise<void> {
    this.reloading = this.reloading
      .then(() => this.reloadNow())
      .catch((error: unknown) => this.options.log.error({ err: error instanceof Error ? error.message : String(error) }, 'plugins not reloaded'));
    return this.reloading;
  }

  hasCommand(name: string): boolean {
    const route = this.routes.commands.get(name);
    return route !== undefined && this.loaded.has(route.plugin);
  }

  commandHelp(): { name: string; description: string }[] {
    return [...this.routes.commands].map(([name, route]) => ({ name, description: route.description }));
  }

  async runCommand(name: string, args: string, message: Message): Promise<string> {
    const route = this.routes.commands.get(name);
    const plugin = route && this.loaded.get(route.plugin);
    if (!route || !plugin) throw new Error(`no enabled plugin answers /${name}`);
    this.options.state.addAudience(route.plugin, message.conversation.id);
    const value = await plugin.process.call('command', name, args, contextOf(message));
    const text = typeof value === 'string' ? value : value === null ? '' : JSON.stringify(value);
    return text.trim() === '' ? `(/${name} gave no answer)` : text.slice(0, 16_384);
  }

  toolsFor(message: Message): TurnTool[] {
    const offered = new Set(this.routes.tools.keys());
    return [...this.routes.tools].map(([name, { tool }]) => ({
      name,
      description: tool.description,
      parameters: tool.parameters,
      ...(tool.approval ? { needsApproval: true } : {}),
      call: (args: unknown) => this.callTool(offered, name, args, message),
    }));
  }

  /**
   * Runs a tool the model called: refused unless `name` is in the set offered for this turn and
   * its plugin is enabled now; arguments that do not satisfy the tool's schema go back to the
   * model as an error and never reach the plugin.
   *
   * @returns what the model is told: the plugin's result, or `{ error }`
   */
  async callTool(offered: ReadonlySet<string>, name: string, args: unknown, message: Message): Promise<unknown> {
    const log = this.options.log.child({ tool: name, conversationId: message.conversation.id, messageId: message.message_id });
    const route = this.routes.tools.get(name);
    const plugin = route && this.loaded.get(route.plugin);
    if (!offered.has(name) || !route || !plugin) {
      const reason = !offered.has(name) ? 'it was not offered in this conversation' : 'its plugin is not enabled';
      log.warn({ reason }, 'tool call refused');
      return { error: `the tool ${name} is not available: ${reason}` };
    }
    const { validate } = compileToolSchema(route.tool.parameters);
    if (!validate?.(args)) {
      const problem = validate ? describeErrors(validate.errors) : 'the tool has no valid schema';
      log.info({ plugin: route.plugin, problem }, 'tool arguments invalid; not passed to the plugin');
      return { error: `invalid arguments for ${name}: ${problem}` };
    }
    this.options.state.addAudience(route.plugin, message.conversation.id);
    try {
      const value = await plugin.process.call('tool', name, args, contextOf(message));
      log.info({ plugin: route.plugin }, 'tool called');
      return value;
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      log.warn({ plugin: route.plugin, err: text }, 'tool failed');
      return { error: text };
    }
  }

  /** Stops watching, the schedules and every child. */
  async dispose(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    await this.reloading;
    await Promise.all([...this.loaded.values()].map((plugin) => this.unload(plugin, 'stop')));
    this.loaded.clear();
  }

  private startWatching(): void {
    const soon = () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.reload(), DEBOUNCE_MS);
    };
    try {
      this.watcher = watch(this.options.dir, { recursive: true }, soon);
      this.watcher.on('error', (error) => this.options.log.warn({ err: error.message }, 'plugins folder not watched; re-read every few seconds instead'));
    } catch {
      // No folder yet: the periodic re-read finds it once it exists.
    }
    this.poll = setInterval(() => void this.reload(), this.options.pollMs ?? 2_000);
    this.poll.unref();
  }

  private async reloadNow(): Promise<void> {
    if (this.stopped) return;
    const scanned = refuseSharedSecrets(await scanPlugins(this.options.dir), this.options.sharedSecrets ?? new Set());
    const disabled = this.options.state.disabled();
    this.scanned = scanned;
    this.disabled = disabled;
    const wanted = new Map(scanned.filter((plugin) => plugin.manifest && !disabled.has(plugin.name)).map((plugin) => [plugin.name, plugin]));
    for (const [name, plugin] of this.loaded) {
      const next = wanted.get(name);
      if (next && next.fingerprint === plugin.scanned.fingerprint) continue;
      this.loaded.delete(name);
      // Not awaited: a call running on the old child finishes there while new calls go to the new one.
      void this.unload(plugin, next ? 'changed' : disabled.has(name) ? 'disabled' : 'removed');
    }
    for (const [name, plugin] of wanted) if (!this.loaded.has(name)) this.loaded.set(name, await this.load(plugin));
    this.routes = routeTable(
      scanned.map((plugin) => ({ name: plugin.name, enabled: this.loaded.has(plugin.name), manifest: plugin.manifest })),
      this.options.builtins,
    );
    this.reportProblems();
  }

  /** Logs the plugins' problems whenever they change (not on every re-read). */
  private reportProblems(): void {
    const infos = this.list();
    const report = JSON.stringify(infos.map((info) => [info.name, info.enabled, info.problems]));
    if (report === this.lastReport) return;
    this.lastReport = report;
    for (const info of infos) {
      if (info.problems.length > 0) this.options.log.warn({ plugin: info.name, problems: info.problems }, info.valid ? 'plugin loaded with problems' : 'plugin not loaded');
    }
    this.options.log.info({ loaded: [...this.loaded.keys()], disabled: [...this.disabled] }, 'plugins loaded');
  }

  private async load(scanned: ScannedPlugin): Promise<Loaded> {
    const manifest = scanned.manifest as Manifest;
    const root = resolve(this.options.dataDir, 'plugins');
    await mkdir(join(root, '.logs'), { recursive: true, mode: 0o700 });
    const files = await readPluginModules(scanned.dir, scanned.files);
    const secrets: Record<string, string> = {};
    for (const name of manifest.permissions.secrets) {
      const value = this.options.env[name];
      if (value) secrets[name] = value;
    }
    const log = this.options.log;
    const child = new PluginProcess({
      code: {
        name: scanned.name,
        entry: posix.normalize(manifest.entry.replaceAll('\\', '/')),
        files,
        secrets,
        data: manifest.permissions.data,
        memoryMb: manifest.limits.memory_mb,
        idleCpuMs: manifest.limits.idle_cpu_ms,
      },
      namespaces: this.options.namespaces,
      timeoutMs: manifest.limits.timeout_ms,
      stderrPath: join(root, '.logs', `${scanned.name}.stderr.log`),
      log,
      services: {
        fetch: (request, timeoutMs) =>
          hostFetch(manifest.permissions, request, timeoutMs).catch((error: unknown) => {
            if (error instanceof PluginFetchError && error.code === 'refused') log.warn({ plugin: scanned.name, detail: error.message }, 'plugin fetch refused');
            throw error;
          }),
        push: async (request, call) => pushFor({ plugin: scanned.name, request, call, state: this.options.state, outbox: this.options.outbox, log }),
        data: async (request) => {
          if (!manifest.permissions.data) throw new Error('ctx.data is not granted: the manifest needs "permissions": { "data": true }');
          return this.options.data.handle(scanned.name, request);
        },
      },
    });
    const crons = schedulesOf(scanned.name, manifest, child, log);
    // A plugin with schedules runs from the start: it may have timers to set again after a restart.
    if (crons.length > 0) {
      child.start().catch((error: unknown) => log.warn({ plugin: scanned.name, err: error instanceof Error ? error.message : String(error) }, 'plugin did not start'));
    }
    log.info({ plugin: scanned.name, version: manifest.version, permissions: manifest.permissions }, 'plugin loaded');
    return { scanned, manifest, process: child, crons };
  }

  private async unload(plugin: Loaded, why: 'changed' | 'removed' | 'disabled' | 'stop'): Promise<void> {
    for (const cron of plugin.crons) cron.stop();
    if (why !== 'stop') this.options.log.info({ plugin: plugin.scanned.name, why }, 'plugin unloaded');
    await (why === 'stop' ? plugin.process.dispose() : plugin.process.retire());
  }
}

/** Who a message's call is for, and what caused it. */
const contextOf = (message: Message): CallContext => ({ conversationId: message.conversation.id, senderId: message.sender.id, trigger: `message:${message.message_id}` });
