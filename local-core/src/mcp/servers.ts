import type { Message } from '@hearth/shared';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { TurnTool } from '../inference/engine.js';
import { McpConnection, type McpConnectionOptions, type McpState } from './connection.js';
import type { McpServerEntry } from './file.js';
import { needsApproval, offeredName, resultForModel } from './tools.js';

/** What the pipeline asks of the MCP servers: tools for a turn, beside the plugins' (whose names come first). */
export interface McpTools {
  toolsFor(message: Message, taken: ReadonlySet<string>): TurnTool[];
}

/** A server as `hearth mcp list` and status show it. */
export interface McpServerStatus {
  name: string;
  kind: 'stdio' | 'http';
  state: McpState;
  problem: string | undefined;
  tools: string[];
}

/** A tool's input schema longer than this is not offered: every turn carries it to the model. */
const MAX_SCHEMA_CHARS = 8_192;

interface Offer {
  connection: McpConnection;
  tool: Tool;
  needsApproval: boolean;
}

/**
 * The configured MCP servers of one core, each kept connected (see connection.ts). Their tools
 * are offered to the model as `SERVER__TOOL`; a name taken by a plugin tool or an earlier
 * server (by name) is not offered, and that is logged once. The policy is the plugins': a call
 * runs only if its name was offered for this turn and its server still lists the tool; whatever
 * goes wrong, the model is told `{ error }` and the reply goes on.
 *
 * @example
 * const servers = McpServers.start(entries, { log, env: process.env, namespaces: namespaceSupport });
 * const tools = servers.toolsFor(message, new Set(pluginTools.map((t) => t.name)));
 */
export class McpServers implements McpTools {
  private connections: McpConnection[] = [];
  private offers = new Map<string, Offer>();
  private readonly warned = new Set<string>();
  private closing: Promise<void> | undefined;

  private constructor(private readonly options: Omit<McpConnectionOptions, 'entry'>) {}

  /** Connects to every server in the background; their tools are offered as each one is ready. */
  static start(entries: readonly McpServerEntry[], options: Omit<McpConnectionOptions, 'entry'>): McpServers {
    const servers = new McpServers(options);
    void servers.reload(entries);
    return servers;
  }

  /**
   * Makes the servers those of `entries` (the file changed): a server no longer listed, or
   * listed differently, is closed (its tools go at once); a new or changed one is started.
   * Servers whose entry is the same keep their connection. Resolves when the closed ones are.
   */
  async reload(entries: readonly McpServerEntry[]): Promise<void> {
    if (this.closing) return;
    const wanted = new Map(entries.map((entry) => [entry.name, entry]));
    const same = (connection: McpConnection) => JSON.stringify(wanted.get(connection.name)) === JSON.stringify(connection.entry);
    const gone = this.connections.filter((connection) => !same(connection));
    const kept = this.connections.filter(same);
    const started = entries.filter((entry) => !kept.some((connection) => connection.name === entry.name)).map((entry) => new McpConnection({ ...this.options, entry }));
    this.connections = [...kept, ...started].sort((a, b) => a.name.localeCompare(b.name));
    this.rebuild();
    if (gone.length > 0 || started.length > 0) {
      this.options.log.info({ stopped: gone.map((c) => c.name), started: started.map((c) => c.name) }, 'MCP servers changed');
    }
    for (const connection of started) {
      connection.on('change', () => this.rebuild());
      connection.start();
    }
    await Promise.all(gone.map((connection) => connection.dispose()));
  }

  connection(name: string): McpConnection | undefined {
    return this.connections.find((connection) => connection.name === name);
  }

  list(): McpServerStatus[] {
    return this.connections.map((c) => ({ name: c.name, kind: c.kind, state: c.state, problem: c.problem, tools: c.tools.map((tool) => tool.name) }));
  }

  toolsFor(message: Message, taken: ReadonlySet<string>): TurnTool[] {
    const offered = new Map([...this.offers].filter(([name]) => !this.collides(name, taken)));
    return [...offered].map(([name, offer]) => ({
      name,
      description: (offer.tool.description ?? offer.tool.title ?? offer.tool.name).slice(0, 1_000),
      parameters: offer.tool.inputSchema,
      needsApproval: offer.needsApproval,
      call: (args: unknown) => this.call(offered, name, args, message),
    }));
  }

  /** Closes every server. Idempotent. */
  dispose(): Promise<void> {
    this.closing ??= Promise.all(this.connections.map((connection) => connection.dispose())).then(() => undefined);
    return this.closing;
  }

  /**
   * Runs an offered tool on its server.
   *
   * @returns what the model is told: the tool's answer (bounded), or `{ error }`
   */
  private async call(offered: ReadonlyMap<string, Offer>, name: string, args: unknown, message: Message): Promise<unknown> {
    const offer = offered.get(name);
    const log = this.options.log.child({ tool: name, server: offer?.connection.name, conversationId: message.conversation.id, messageId: message.message_id });
    if (!offer?.connection.tools.some((tool) => tool.name === offer.tool.name)) {
      log.warn({ reason: offer ? 'its server no longer lists it' : 'not offered' }, 'MCP tool call refused');
      return { error: `the tool ${name} is not available now` };
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return { error: `invalid arguments for ${name}: an object is expected` };
    try {
      const result = await offer.connection.call(offer.tool.name, args as Record<string, unknown>);
      log.info({ isError: result.isError === true }, 'MCP tool called');
      return resultForModel(result);
    } catch (error) {
      const reason = (error instanceof Error ? error.message : String(error)).slice(0, 500);
      log.warn({ err: reason }, 'MCP tool failed');
      return { error: `${name} failed: ${reason}` };
    }
  }

  /** Whether a plugin tool already has the name (said once per name). */
  private collides(name: string, taken: ReadonlySet<string>): boolean {
    if (!taken.has(name)) return false;
    this.warnOnce(name, 'a plugin tool has this name; the plugin keeps it');
    return true;
  }

  /** The offers of every ready server, in server name order; a name taken already is refused. */
  private rebuild(): void {
    const offers = new Map<string, Offer>();
    for (const connection of this.connections) {
      if (connection.state !== 'ready') continue;
      for (const tool of connection.tools) {
        const name = offeredName(connection.name, tool.name);
        if (!name) this.warnOnce(`${connection.name}/${tool.name}`, 'its name cannot be made a function name of 64 characters; not offered');
        else if (JSON.stringify(tool.inputSchema).length > MAX_SCHEMA_CHARS) this.warnOnce(name, `its input schema is over ${MAX_SCHEMA_CHARS} characters (it would fill the model's context)`);
        else if (offers.has(name)) this.warnOnce(name, `another server's tool has this name; ${offers.get(name)?.connection.name} keeps it`);
        else offers.set(name, { connection, tool, needsApproval: needsApproval(connection.entry, tool) });
      }
    }
    this.offers = offers;
  }

  private warnOnce(name: string, reason: string): void {
    if (this.warned.has(name)) return;
    this.warned.add(name);
    this.options.log.warn({ tool: name, reason }, 'MCP tool not offered');
  }
}
