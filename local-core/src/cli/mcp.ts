import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { loadMcpConfig } from '../mcp/config.js';
import { type McpServerEntry, readMcpFile, updateMcpFile } from '../mcp/file.js';
import { PROBE_MS, probeServer } from '../mcp/probe.js';
import { needsApproval, offeredName } from '../mcp/tools.js';
import { registerMcpServe } from '../mcp-server/serve-command.js';
import { runCommand } from './run.js';

const collect = (value: string, previous: string[]) => [...previous, value];

/** `K=VAR` as `{ K: "${VAR}" }`; `K=text with ${VAR}` kept as written. A literal secret is refused (it would sit in the file and the shell history). */
function byName(pairs: readonly string[], what: string): Record<string, string> {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      const [key, value] = [pair.slice(0, at), pair.slice(at + 1)];
      if (at < 1) throw new ConfigError(`--${what} ${pair}: write NAME=VARIABLE, e.g. --${what} ${what === 'header' ? 'Authorization=GITHUB_TOKEN' : 'API_KEY=GITHUB_TOKEN'}`);
      if (value.includes('${')) return [key, value];
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) throw new ConfigError(`--${what} ${key}=…: give the name of a variable of the core's environment (or text with \${VAR} in it), never the secret itself`);
      return [key, `\${${value}}`];
    }),
  );
}

const probe = (entry: McpServerEntry) => probeServer(entry, process.env);

/** What a server is and may do, as `hearth mcp list` prints it. */
function describeEntry(entry: McpServerEntry): string[] {
  if (entry.kind === 'http') {
    const headers = Object.entries(entry.headers).map(([name, value]) => `${name}: ${value}`);
    return [`${entry.name} — http ${entry.url}`, `  addresses: ${entry.lan ? 'this machine and the local network allowed (lan)' : 'public only'}; headers: ${headers.join(', ') || 'none'}`];
  }
  const how = entry.trusted ? 'TRUSTED (unsandboxed: sees every file, the network, other processes)' : 'sandboxed';
  const folders = entry.folders.map((folder) => `${folder.path} (${folder.writable ? 'writable' : 'read-only'})`);
  const lines = [`${entry.name} — stdio, ${how}: ${[entry.command, ...entry.args].join(' ')}`];
  const network = entry.hosts.length > 0 ? `${entry.hosts.join(', ')} through the core's proxy${entry.lan.length > 0 ? ` (lan: ${entry.lan.join(', ')})` : ''}` : 'none';
  if (!entry.trusted) lines.push(`  folders: ${folders.join(', ') || 'none'}; network: ${network}`);
  if (Object.keys(entry.env).length > 0) lines.push(`  env: ${Object.entries(entry.env).map(([name, value]) => `${name}=${value}`).join(', ')}`);
  return lines;
}

/** `hearth mcp add|list|remove|test`, and `serve` (Hearth's own tools to a local agent, see mcp-server/). */
export function registerMcpCommand(program: Command): void {
  const mcp = program.command('mcp').description('MCP servers whose tools the model may use (HEARTH_MCP_CONFIG, default .hearth/mcp.json); a running core follows the file');
  const file = () => loadMcpConfig(process.env).file;
  const find = async (name: string) => {
    const entry = (await readMcpFile(file())).find((server) => server.name === name);
    if (!entry) throw new ConfigError(`no MCP server ${name} in ${file()} (hearth mcp list shows them)`);
    return entry;
  };
  registerMcpServe(mcp);

  mcp
    .command('add <name> [command...]')
    .description('add a server: hearth mcp add NAME -- COMMAND ARGS... (stdio, sandboxed) or hearth mcp add NAME --url URL')
    .option('--url <url>', 'an HTTP (streamable HTTP) server')
    .option('--header <name=VAR>', 'a header from the core environment variable VAR (repeatable)', collect, [])
    .option('--env <name=VAR>', 'an environment variable for the program, from the core environment variable VAR (repeatable)', collect, [])
    .option('--folder <path>', 'a folder the sandboxed program may read (repeatable)', collect, [])
    .option('--writable <path>', 'a folder the sandboxed program may read and write (repeatable)', collect, [])
    .option('--host <name[:port]>', 'a host the sandboxed program may reach through the core (ports 80 and 443 unless given; repeatable)', collect, [])
    .option('--lan-address <address:port>', 'a non-public address a --host may resolve to (repeatable)', collect, [])
    .option('--trusted', 'run the program unsandboxed (only for a program you trust)', false)
    .option('--lan', 'the HTTP server is on this machine or the local network', false)
    .option('--force', 'replace a server of that name', false)
    .action(
      (
        name: string,
        command: string[],
        options: { url?: string; header: string[]; env: string[]; folder: string[]; writable: string[]; host: string[]; lanAddress: string[]; trusted: boolean; lan: boolean; force: boolean },
      ) =>
      runCommand(async () => {
        if ((command.length > 0) === (options.url !== undefined)) throw new ConfigError('give either a command (hearth mcp add NAME -- COMMAND ARGS...) or --url URL');
        const [program, ...args] = command;
        const folders = [...options.folder.map((path) => resolve(path)), ...options.writable.map((path) => ({ path: resolve(path), writable: true }))];
        const entry = program
          ? {
              command: program,
              args,
              ...(options.env.length ? { env: byName(options.env, 'env') } : {}),
              ...(options.trusted ? { trusted: true } : {}),
              ...(folders.length ? { folders } : {}),
              ...(options.host.length ? { hosts: options.host } : {}),
              ...(options.lanAddress.length ? { lan: options.lanAddress } : {}),
            }
          : { url: options.url, ...(options.header.length ? { headers: byName(options.header, 'header') } : {}), ...(options.lan ? { lan: true } : {}) };
        await updateMcpFile(file(), name, entry, { replace: options.force });
        process.stdout.write(`added ${name} to ${file()} (hearth mcp test ${name} checks it; a running core picks it up at once)\n`);
      }),
    );

  mcp
    .command('list')
    .description('every server: kind, trusted or sandboxed, folders and addresses it may reach, and its tools when it connects')
    .option('--json', 'print JSON for programs', false)
    .option('--offline', 'do not connect (no tool counts)', false)
    .action((options: { json: boolean; offline: boolean }) =>
      runCommand(async () => {
        const entries = await readMcpFile(file());
        const probed = options.offline ? [] : await Promise.all(entries.map(probe));
        const rows = entries.map((entry, index) => {
          const connection = probed[index];
          return { entry, state: connection?.state, problem: connection?.problem, tools: connection?.state === 'ready' ? connection.tools.length : undefined };
        });
        await Promise.all(probed.map((connection) => connection.dispose()));
        if (options.json) {
          process.stdout.write(`${JSON.stringify(rows.map(({ entry, ...rest }) => ({ ...entry, ...rest })), null, 2)}\n`);
          return;
        }
        if (rows.length === 0) {
          process.stdout.write(`no MCP servers in ${file()} (hearth mcp add NAME -- COMMAND ARGS... adds one)\n`);
          return;
        }
        const lines = rows.flatMap(({ entry, state, problem, tools }) => [
          ...describeEntry(entry),
          ...(state === undefined ? [] : [state === 'ready' ? `  connects: ${tools} tools` : `  does not connect (${state}): ${problem ?? 'no answer in time'}`]),
        ]);
        process.stdout.write(`${lines.join('\n')}\n`);
      }),
    );

  mcp
    .command('remove <name>')
    .description('remove a server from the file')
    .action((name: string) =>
      runCommand(async () => {
        await updateMcpFile(file(), name, undefined);
        process.stdout.write(`removed ${name} from ${file()}\n`);
      }),
    );

  mcp
    .command('test <name>')
    .description('connect to a server and list its tools as the model is offered them, with their annotations and approval marks; exits 1 when it does not connect')
    .option('--json', 'print JSON for programs', false)
    .action((name: string, options: { json: boolean }) =>
      runCommand(async () => {
        const entry = await find(name);
        const connection = await probe(entry);
        const { state, problem } = connection;
        const tools = connection.tools.map((tool) => ({ name: tool.name, offeredAs: offeredName(entry.name, tool.name) ?? null, needsApproval: needsApproval(entry, tool), annotations: tool.annotations ?? {} }));
        await connection.dispose();
        if (state !== 'ready') {
          process.stderr.write(`hearth: ${name} does not connect (${state}): ${problem ?? `no answer within ${PROBE_MS / 1000} s`}\n`);
          process.exitCode = 1;
          return;
        }
        if (options.json) process.stdout.write(`${JSON.stringify({ name, state, tools }, null, 2)}\n`);
        else {
          const lines = tools.map((tool) => `  ${tool.offeredAs ?? `${tool.name} (NOT OFFERED: no valid function name)`}${tool.needsApproval ? ' — asks the owner first' : ''} ${JSON.stringify(tool.annotations)}`);
          process.stdout.write(`${name} connects: ${tools.length} tools\n${lines.join('\n')}\n`);
        }
      }),
    );
}
