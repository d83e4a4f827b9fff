import { fail, ok, warn, type CheckResult } from '../cli/doctor-report.js';
import { ConfigError } from '../errors.js';
import { createLogger } from '../logger.js';
import { namespaceSupport } from '../plugins/sandbox.js';
import type { McpConfig } from './config.js';
import { McpConnection } from './connection.js';
import { type McpServerEntry, readMcpFile } from './file.js';

/** How long a command waits for a server to connect. */
export const PROBE_MS = 20_000;

/** A server connected (or not) within `timeoutMs`, for a command; close it after reading. */
export async function probeServer(entry: McpServerEntry, env: Readonly<Record<string, string | undefined>>, timeoutMs = PROBE_MS): Promise<McpConnection> {
  const connection = new McpConnection({ entry, log: createLogger('silent'), env, namespaces: namespaceSupport });
  connection.start();
  await connection.settled(timeoutMs);
  return connection;
}

/**
 * `hearth doctor`'s check: the servers' file is valid, and each server connects (with its tool count).
 *
 * @example
 * results.push(await checkMcpServers(config.mcp, process.env));
 */
export async function checkMcpServers(config: Pick<McpConfig, 'file'>, env: Readonly<Record<string, string | undefined>>, timeoutMs = 10_000): Promise<CheckResult> {
  const name = 'MCP servers';
  let entries: McpServerEntry[];
  try {
    entries = await readMcpFile(config.file);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return fail('mcp', name, error.message.split('\n').join('; '), `correct ${config.file} (hearth mcp list shows it as the core reads it)`);
  }
  if (entries.length === 0) return ok('mcp', name, `none configured (${config.file}; hearth mcp add NAME -- COMMAND adds one)`);
  const probed = await Promise.all(entries.map((entry) => probeServer(entry, env, timeoutMs)));
  const lines = probed.map((c) => (c.state === 'ready' ? `${c.name}: ${c.tools.length} tools` : `${c.name}: does not connect (${c.state}${c.problem ? `: ${c.problem}` : ''})`));
  const down = probed.filter((connection) => connection.state !== 'ready').length;
  await Promise.all(probed.map((connection) => connection.dispose()));
  return down === 0 ? ok('mcp', name, lines.join('; ')) : warn('mcp', name, lines.join('; '), 'hearth mcp test NAME shows why; the core offers the tools of the servers that connect');
}
