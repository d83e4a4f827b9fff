import { join } from 'node:path';
import { z } from 'zod';
import { parseEnv } from '../env.js';

const McpEnvSchema = z.object({
  HEARTH_MCP_CONFIG: z.string().min(1, 'HEARTH_MCP_CONFIG must be a file path, e.g. .hearth/mcp.json').optional(),
  // The core's data folder (memory/config.ts validates it too): the file's default home.
  HEARTH_DATA_DIR: z.string().min(1).default('.hearth'),
});

export interface McpConfig {
  /** The servers' file (HEARTH_MCP_CONFIG, default `<HEARTH_DATA_DIR>/mcp.json`); none there: no servers. */
  file: string;
}

/**
 * Where the MCP servers are listed.
 *
 * @throws ConfigError naming the variable
 * @example
 * loadMcpConfig({}); // { file: '.hearth/mcp.json' }
 */
export function loadMcpConfig(env: NodeJS.ProcessEnv): McpConfig {
  const e = parseEnv(McpEnvSchema, env);
  return { file: e.HEARTH_MCP_CONFIG ?? join(e.HEARTH_DATA_DIR, 'mcp.json') };
}
