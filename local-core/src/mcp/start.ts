import type { Logger } from '../logger.js';
import { namespaceSupport } from '../plugins/sandbox.js';
import type { McpConfig } from './config.js';
import { readMcpFile } from './file.js';
import type { McpServers } from './servers.js';

/**
 * Reads the servers' file and starts connecting to each (in the background: a slow or absent
 * server never holds up the core). No file, or no server in it: undefined, and the MCP SDK is
 * never loaded (it would stay resident in an idle core).
 *
 * @throws ConfigError for a file that is not valid, naming the server and the problem
 * @example
 * const mcp = await startMcp({ config: loadMcpConfig(process.env), log, env: process.env });
 */
export async function startMcp(options: { config: McpConfig; log: Logger; env: Readonly<Record<string, string | undefined>> }): Promise<McpServers | undefined> {
  const entries = await readMcpFile(options.config.file);
  if (entries.length === 0) return undefined;
  const log = options.log.child({ component: 'mcp' });
  log.info({ file: options.config.file, servers: entries.map((entry) => `${entry.name} (${entry.kind}${entry.kind === 'stdio' ? (entry.trusted ? ', trusted' : ', sandboxed') : ''})`) }, 'MCP servers configured');
  const { McpServers } = await import('./servers.js');
  return McpServers.start(entries, { log, env: options.env, namespaces: namespaceSupport });
}
