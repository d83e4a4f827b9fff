import type { Logger } from '../logger.js';
import { namespaceSupport } from '../plugins/sandbox.js';
import type { McpConfig } from './config.js';
import { readMcpFile } from './file.js';
import { McpServers } from './servers.js';

/**
 * Reads the servers' file and starts connecting to each (in the background: a slow or absent
 * server never holds up the core). No file: no servers.
 *
 * @throws ConfigError for a file that is not valid, naming the server and the problem
 * @example
 * const mcp = await startMcp({ config: loadMcpConfig(process.env), log, env: process.env });
 */
export async function startMcp(options: { config: McpConfig; log: Logger; env: Readonly<Record<string, string | undefined>> }): Promise<McpServers> {
  const entries = await readMcpFile(options.config.file);
  const log = options.log.child({ component: 'mcp' });
  if (entries.length > 0) {
    log.info({ file: options.config.file, servers: entries.map((entry) => `${entry.name} (${entry.kind}${entry.kind === 'stdio' ? (entry.trusted ? ', trusted' : ', sandboxed') : ''})`) }, 'MCP servers configured');
  }
  return McpServers.start(entries, { log, env: options.env, namespaces: namespaceSupport });
}
