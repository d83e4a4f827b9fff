import { join } from 'node:path';
import { z } from 'zod';
import { parseEnv } from '../env.js';

/** The MCP settings' environment variables. */
export const McpEnvSchema = z.object({
  HEARTH_MCP_CONFIG: z.string().min(1, 'HEARTH_MCP_CONFIG must be a file path, e.g. .hearth/mcp.json').optional().meta({ description: 'the MCP servers whose tools the model may use (`{ "mcpServers": { NAME: { "command", "args", "env", "folders", "trusted" } | { "url", "headers", "lan" } } }`; see [plugins](plugins.md#mcp-servers-tools-from-anywhere-sandboxed)); followed while the core runs, `hearth mcp` edits it', shownDefault: '`<HEARTH_DATA_DIR>/mcp.json`' }),
  // The core's data folder (memory/config.ts validates it too): the file's default home.
  HEARTH_DATA_DIR: z.string().min(1).default('.hearth'),
  HEARTH_MCP_EXPOSE: z
    .string()
    .default('')
    .transform((text) => text.split(',').map((name) => name.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^(\*|[a-zA-Z0-9_-]{1,64})$/, 'HEARTH_MCP_EXPOSE lists tool names as offered to the model (e.g. weather__current,get_weather), or *')))
    .meta({ description: 'tools of the plugins and MCP servers (as offered, e.g. `notes__read_note`, or `*`) that `/mcp` clients may list and call, comma-separated; one that needs approval never is' }),
});

export interface McpConfig {
  /** The servers' file (HEARTH_MCP_CONFIG, default `<HEARTH_DATA_DIR>/mcp.json`); none there: no servers. */
  file: string;
  /** HEARTH_MCP_EXPOSE: the owner's tools (plugins', MCP servers') that /mcp clients may list and call; `*` every one that needs no approval; none by default. */
  expose: ReadonlySet<string>;
}

/**
 * Where the MCP servers are listed.
 *
 * @throws ConfigError naming the variable
 * @example
 * loadMcpConfig({}); // { file: '.hearth/mcp.json', expose: Set {} }
 */
export function loadMcpConfig(env: NodeJS.ProcessEnv): McpConfig {
  const e = parseEnv(McpEnvSchema, env);
  return { file: e.HEARTH_MCP_CONFIG ?? join(e.HEARTH_DATA_DIR, 'mcp.json'), expose: new Set(e.HEARTH_MCP_EXPOSE) };
}
