import type { Command } from 'commander';
import { loadCoreConfig } from '../config.js';
import { parseUser } from '../cli/token-args.js';
import { runCommand, untilSignal } from '../cli/run.js';
import { ownerMcpTokens } from './owner-token.js';
import { serveMcpOverStdio } from './stdio-proxy.js';

/**
 * `hearth mcp serve [--user ID]`: Hearth's MCP tools (ask, recent_history, search_notes) over
 * stdio for an agent on this machine, reached through the edge's `/mcp` with tokens the
 * command signs with the core key. stdout carries MCP only; what it says goes to stderr.
 */
export function registerMcpServe(mcp: Command): void {
  mcp
    .command('serve')
    .description("serve Hearth's own tools (ask, recent_history, search_notes) over stdio to a local agent, through the edge's /mcp")
    .option('--user <id>', 'whose conversations and notes: the API user the tokens name', parseUser, 'owner')
    .action((options: { user: string }) =>
      runCommand(async () => {
        const config = loadCoreConfig(process.env);
        const proxy = await serveMcpOverStdio({ edgeUrl: config.edgeUrl, token: ownerMcpTokens(config, options.user) });
        process.stderr.write(`hearth mcp serve: ${config.edgeUrl}/mcp as ${options.user}\n`);
        // The agent ends us by closing stdin (the SDK's stdio transport does not watch for it).
        const stdinEnded = new Promise<void>((resolve) => process.stdin.once('end', resolve));
        await Promise.race([proxy.closed, stdinEnded, untilSignal()]);
        await proxy.close();
      }),
    );
}
