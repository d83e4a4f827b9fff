import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Message } from '@hearth/shared';
import { ConfigError } from '../errors.js';
import type { TurnTool } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import { namespaceSupport } from '../plugins/sandbox.js';
import type { McpConfig } from './config.js';
import { type McpServerEntry, readMcpFile } from './file.js';
import type { McpServers, McpServerStatus, McpTools } from './servers.js';

/** A change to the file is read once it has been quiet this long (an editor writes in steps). */
const SETTLE_MS = 250;

/** The MCP servers of a running core, following their file. */
export interface McpHost extends McpTools, AsyncDisposable {
  list(): McpServerStatus[];
  /** Stops following the file and closes every server. Idempotent. */
  dispose(): Promise<void>;
}

interface StartOptions {
  config: McpConfig;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
}

/**
 * Reads the servers' file and starts connecting to each (in the background: a slow or absent
 * server never holds up the core), then follows the file: a server added, removed or changed
 * there (by hand or `hearth mcp add|remove`) is started or closed without a restart; the others
 * keep their connections. A file made invalid later is logged and leaves the servers as they
 * were. Until some server is listed the MCP SDK is not loaded (it would stay resident in an
 * idle core).
 *
 * @throws ConfigError for a file that is not valid at start, naming the server and the problem
 * @example
 * const mcp = await startMcp({ config: loadMcpConfig(process.env), log, env: process.env });
 */
export async function startMcp(options: StartOptions): Promise<McpHost> {
  const entries = await readMcpFile(options.config.file);
  const host = new FollowedMcpFile(options);
  await host.apply(entries);
  host.follow();
  return host;
}

class FollowedMcpFile implements McpHost {
  private servers: McpServers | undefined;
  private watcher: FSWatcher | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private applying: Promise<void> = Promise.resolve();
  private closing: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(private readonly options: StartOptions) {
    this.log = options.log.child({ component: 'mcp' });
  }

  toolsFor(message: Message, taken: ReadonlySet<string>): TurnTool[] {
    return this.servers?.toolsFor(message, taken) ?? [];
  }

  list(): McpServerStatus[] {
    return this.servers?.list() ?? [];
  }

  async apply(entries: readonly McpServerEntry[]): Promise<void> {
    if (entries.length === 0 && !this.servers) return;
    this.log.info({ file: this.options.config.file, servers: entries.map(describe) }, 'MCP servers configured');
    if (!this.servers) {
      const { McpServers } = await import('./servers.js');
      this.servers = McpServers.start([], { log: this.log, env: this.options.env, namespaces: namespaceSupport });
    }
    await this.servers.reload(entries);
  }

  /** Watches the file's folder, not the file: `hearth mcp add` replaces it by rename, and it may not exist yet. */
  follow(): void {
    const { file } = this.options.config;
    try {
      this.watcher = watch(dirname(file), (_event, name) => {
        if (name === basename(file)) this.schedule();
      });
      this.watcher.on('error', (error) => this.log.warn({ err: error.message }, 'MCP servers file no longer followed; restart the core to apply changes'));
    } catch (error) {
      this.log.warn({ file, err: error instanceof Error ? error.message : String(error) }, 'MCP servers file not followed; restart the core to apply changes');
    }
  }

  dispose(): Promise<void> {
    this.closing ??= (async () => {
      this.watcher?.close();
      clearTimeout(this.timer);
      await this.applying;
      await this.servers?.dispose();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.applying = this.applying.then(() => this.reread());
    }, SETTLE_MS);
    this.timer.unref();
  }

  private async reread(): Promise<void> {
    if (this.closing) return;
    try {
      await this.apply(await readMcpFile(this.options.config.file));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const what = error instanceof ConfigError ? 'MCP servers file not applied: it is not valid; the servers stay as they were' : 'MCP servers file not applied';
      this.log.error({ reason }, what);
    }
  }
}

const describe = (entry: McpServerEntry) => `${entry.name} (${entry.kind}${entry.kind === 'stdio' ? (entry.trusted ? ', trusted' : ', sandboxed') : ''})`;
