import { backoffMs } from '@hearth/shared';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../logger.js';
import { LogLimiter } from '../plugins/log-limiter.js';
import type { NamespaceSupport } from '../plugins/sandbox.js';
import { VERSION } from '../version.js';
import { parseLanGrants } from '../plugins/address-policy.js';
import { EgressProxy } from './egress-proxy.js';
import type { McpServerEntry } from './file.js';
import { type HostLookup, pinnedFetch } from './http-fetch.js';
import { expanded, McpRefusal, stdioLaunch } from './launch.js';

/** Where a server is: connecting, connected (`ready`), lost and retrying (`down`), refused for good, closed. */
export type McpState = 'connecting' | 'ready' | 'down' | 'refused' | 'closed';

/** Most tools taken from one server (pages of tools/list read until then). */
const MAX_TOOLS = 128;
const CONNECT_TIMEOUT_MS = 15_000;
const STDERR_LINE_CHARS = 500;

export interface McpConnectionOptions {
  entry: McpServerEntry;
  log: Logger;
  /** The core's environment: `${VAR}` in env and headers are read here. */
  env: Readonly<Record<string, string | undefined>>;
  /** bubblewrap for untrusted stdio servers (see launch.ts); without it they are refused. */
  namespaces: () => NamespaceSupport;
  /** The resolver for HTTP servers' names and a stdio server's hosts (tests inject one). */
  lookup?: HostLookup;
  /** Backoff's first step and cap (ms), defaults 500 and 30 000. */
  backoff?: { baseMs: number; capMs: number };
}

/**
 * One MCP server, kept connected with the official SDK client: started (a sandboxed program, or
 * an HTTP URL), initialized, its tools listed, re-listed on `notifications/tools/list_changed`;
 * when it goes away (the program exits, a request finds the HTTP server gone) it is dialled
 * again with jittered backoff. A refusal (no sandbox, an unset secret) is final and says why.
 * Emits `change` whenever its state or tools change.
 *
 * @example
 * const server = new McpConnection({ entry, log, env: process.env, namespaces: namespaceSupport });
 * server.start();
 */
export class McpConnection extends EventEmitter<{ change: [] }> {
  state: McpState = 'connecting';
  tools: readonly Tool[] = [];
  /** Why it is down or refused, for the owner. */
  problem: string | undefined;
  private client: Client | undefined;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;
  private readonly stderrLimit = new LogLimiter();
  /** A sandboxed server's way to its hosts, opened at its first start and kept across restarts. */
  private egress: Promise<EgressProxy> | undefined;

  constructor(private readonly options: McpConnectionOptions) {
    super();
  }

  get name(): string {
    return this.options.entry.name;
  }

  get entry(): McpServerEntry {
    return this.options.entry;
  }

  get kind(): 'stdio' | 'http' {
    return this.options.entry.kind;
  }

  /** Begins connecting (in the background); calling it again does nothing. */
  start(): void {
    this.running ??= this.keepConnected();
  }

  /** Resolves once the server is ready, refused or closed, or after `timeoutMs`. */
  async settled(timeoutMs: number): Promise<McpState> {
    const done = () => this.state === 'ready' || this.state === 'refused' || this.state === 'closed';
    if (done()) return this.state;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      function finish() {
        clearTimeout(timer);
        resolve();
      }
      const check = () => {
        if (!done()) return;
        this.off('change', check);
        finish();
      };
      this.on('change', check);
    });
    return this.state;
  }

  /**
   * Calls a tool, bounded by the entry's timeout.
   *
   * @throws when the server is not connected, the call times out or the transport fails (which also starts a reconnect)
   */
  async call(tool: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    const client = this.client;
    if (this.state !== 'ready' || !client) throw new Error(`the MCP server ${this.name} is not connected (${this.problem ?? this.state})`);
    try {
      return await client.callTool({ name: tool, arguments: args }, undefined, { timeout: this.options.entry.timeoutMs, maxTotalTimeout: this.options.entry.timeoutMs });
    } catch (error) {
      // An HTTP server that went away shows only here: closing starts the reconnect loop's next round.
      if (this.options.entry.kind === 'http' && !(error instanceof McpError)) void client.close().catch(() => undefined);
      throw error;
    }
  }

  /** Closes the client (and ends a stdio program). Idempotent. */
  async dispose(): Promise<void> {
    if (this.state === 'closed') return;
    this.stopping.abort();
    await this.client?.close().catch(() => undefined);
    await this.running;
    await (await this.egress?.catch(() => undefined))?.dispose();
    this.setState('closed', undefined, []);
  }

  private async keepConnected(): Promise<void> {
    const { baseMs, capMs } = this.options.backoff ?? { baseMs: 500, capMs: 30_000 };
    const log = this.options.log;
    for (let attempt = 0; !this.stopping.signal.aborted; attempt++) {
      try {
        const closed = await this.connect();
        attempt = 0;
        await closed;
        if (this.stopping.signal.aborted) return;
        this.setState('down', 'the connection closed', []);
        log.warn({ server: this.name }, 'MCP server connection closed; reconnecting');
      } catch (error) {
        if (this.stopping.signal.aborted) return;
        const reason = error instanceof Error ? error.message : String(error);
        if (error instanceof McpRefusal) {
          this.setState('refused', reason, []);
          log.error({ server: this.name, reason }, 'MCP server refused');
          return;
        }
        this.setState('down', reason.slice(0, 300), []);
        log.warn({ server: this.name, err: reason.slice(0, 300), attempt }, 'MCP server not connected; retrying');
      }
      this.client = undefined;
      await sleep(backoffMs(attempt, { baseMs, capMs, jitter: 'full' }), undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  /** One connection: resolves once it is ready, with a promise of its end. */
  private async connect(): Promise<Promise<void>> {
    const transport = this.transport(await this.egressSocket());
    const client = new Client(
      { name: 'hearth', version: VERSION },
      {
        listChanged: {
          tools: {
            debounceMs: 100,
            onChanged: (error, tools) => {
              if (error) this.options.log.warn({ server: this.name, err: error.message }, 'MCP tool list not refreshed');
              else if (tools && this.client === client) this.setTools(tools);
            },
          },
        },
      },
    );
    const closed = new Promise<void>((resolve) => {
      client.onclose = resolve;
    });
    client.onerror = (error) => this.options.log.debug({ server: this.name, err: error.message }, 'MCP transport error');
    this.client = client;
    try {
      await client.connect(transport, { timeout: CONNECT_TIMEOUT_MS });
      const tools = await this.listTools(client);
      if (this.stopping.signal.aborted) throw new Error('closing');
      this.setState('ready', undefined, tools);
      this.options.log.info({ server: this.name, kind: this.options.entry.kind, tools: tools.length }, 'MCP server connected');
    } catch (error) {
      await client.close().catch(() => undefined);
      throw error;
    }
    return closed;
  }

  private async listTools(client: Client): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : {}, { timeout: CONNECT_TIMEOUT_MS });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor && tools.length < MAX_TOOLS);
    return tools.slice(0, MAX_TOOLS);
  }

  /** The egress proxy's socket for a sandboxed server that names hosts; else undefined. */
  private async egressSocket(): Promise<string | undefined> {
    const { entry, log, lookup } = this.options;
    if (entry.kind !== 'stdio' || entry.trusted || entry.hosts.length === 0) return undefined;
    this.egress ??= EgressProxy.open({ server: this.name, hosts: entry.hosts, lan: parseLanGrants(entry.lan), log, ...(lookup ? { lookup } : {}) }).catch((error: unknown) => {
      this.egress = undefined; // tried again at the next start
      throw error;
    });
    return (await this.egress).socketPath;
  }

  private transport(egressSocket: string | undefined): Transport {
    const { entry, env } = this.options;
    if (entry.kind === 'http') {
      const url = new URL(entry.url);
      const headers = Object.fromEntries(Object.entries(entry.headers).map(([name, value]) => [name, expanded(`header ${name}`, value, env)]));
      return new StreamableHTTPClientTransport(url, { requestInit: { headers }, fetch: pinnedFetch(url, entry.lan, this.options.lookup) });
    }
    const transport = new StdioClientTransport({ ...stdioLaunch(entry, env, this.options.namespaces, egressSocket), stderr: 'pipe' });
    const stderr = transport.stderr;
    if (stderr instanceof Readable) {
      // The program's diagnostics go to the log, a line at a time, cut and rate-limited.
      createInterface({ input: stderr }).on('line', (line) => {
        if (this.stderrLimit.allow(this.options.log, `mcp:${this.name}`)) this.options.log.info({ server: this.name, stderr: line.slice(0, STDERR_LINE_CHARS) }, 'MCP server stderr');
      });
    }
    return transport;
  }

  private setTools(tools: readonly Tool[]): void {
    this.tools = tools.slice(0, MAX_TOOLS);
    this.options.log.info({ server: this.name, tools: this.tools.length }, 'MCP tool list changed');
    this.emit('change');
  }

  private setState(state: McpState, problem: string | undefined, tools: readonly Tool[]): void {
    this.state = state;
    this.problem = problem;
    this.tools = tools;
    this.emit('change');
  }
}
