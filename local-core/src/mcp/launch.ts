import { accessSync, constants, existsSync, realpathSync, statSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path';
import type { StdioServerParameters } from '@modelcontextprotocol/sdk/client/stdio.js';
import { getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { bwrapArgs, isLink, type NamespaceSupport, RUNTIME_DIR, readOnlyBinds } from '../plugins/sandbox.js';
import { expandSecrets, type StdioEntry } from './file.js';

/** A server Hearth will not start or contact, and why (what the owner reads in the log and the CLI). */
export class McpRefusal extends Error {
  override readonly name = 'McpRefusal';
}

/** What the dynamic loader and common interpreters need (merged-/usr systems have links for /lib and /bin). */
const SYSTEM = ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/sbin', '/etc/ld.so.cache', '/etc/alternatives', '/etc/ssl', '/etc/ca-certificates'];
const SANDBOX_PATH = ['/usr/local/bin', '/usr/bin', '/bin'];
/** Where the egress proxy's socket appears inside the sandbox, and the loopback port the relay listens on there. */
const EGRESS_SOCKET = '/run/hearth-egress/proxy.sock';
const EGRESS_PORT = 3128;
const EGRESS_RELAY = join(RUNTIME_DIR, 'egress-relay.mjs');

/**
 * How to start a stdio server. Trusted: the program itself, with the SDK's small default
 * environment plus its `env`. Otherwise bubblewrap in front: its own mount, network, pid, IPC,
 * UTS and user namespaces, no capabilities, a file system of the system folders, the program's
 * folder and the granted folders only (read-only unless writable), an empty /tmp as HOME, its
 * own /proc; ended with the core. No network but loopback, unless its entry names `hosts`: then
 * `egressSocket` (an EgressProxy's) is bound in and egress-relay.mjs offers it as HTTPS_PROXY
 * on loopback, so the server reaches those hosts only, through the core's checks. The core's
 * environment is never passed: only PATH, HOME, the proxy's variables and the entry's `env`
 * (with `${VAR}` filled in).
 *
 * @throws McpRefusal when namespaces are unavailable (never run bare), a secret is unset, the program or a folder is missing
 * @example
 * const params = stdioLaunch(entry, process.env, namespaceSupport, proxy?.socketPath);
 * new StdioClientTransport({ ...params, stderr: 'pipe' });
 */
export function stdioLaunch(
  entry: StdioEntry,
  env: Readonly<Record<string, string | undefined>>,
  support: () => NamespaceSupport,
  egressSocket?: string,
): StdioServerParameters {
  const declared = declaredEnv(entry.env, env);
  if (entry.trusted) {
    return { command: entry.command, args: entry.args, env: { ...getDefaultEnvironment(), ...declared }, ...(entry.cwd ? { cwd: entry.cwd } : {}) };
  }
  // Probed only for a server to sandbox (it runs bubblewrap once).
  const namespaces = support();
  if (!namespaces.ok) {
    throw new McpRefusal(`it is not trusted and ${namespaces.reason}, so it cannot be sandboxed; it is never run bare: install bubblewrap, or mark it "trusted": true if you trust the program`);
  }
  const program = findProgram(entry.command, env.PATH ?? '');
  for (const folder of entry.folders) {
    if (!existsSync(folder.path) || !statSync(folder.path).isDirectory()) throw new McpRefusal(`the granted folder ${folder.path} does not exist`);
  }
  // The program's folder (and its link target's), and node's: scripts start with #!/usr/bin/env node.
  const node = realpathSync(process.execPath);
  const programFolders = [...new Set([dirname(program), dirname(realpathSync(program)), dirname(node)])];
  const binds = [
    ...readOnlyBinds(SYSTEM.filter((path) => existsSync(path) || isLink(path))),
    ...programFolders.flatMap((path) => ['--ro-bind', path, path]),
    ...entry.folders.flatMap((folder) => [folder.writable ? '--bind' : '--ro-bind', folder.path, folder.path]),
  ];
  const command = [program, ...entry.args];
  const proxyEnv: Record<string, string> = {};
  if (entry.hosts.length > 0) {
    if (!egressSocket) throw new McpRefusal('it names hosts but no egress proxy was opened for it');
    binds.push('--ro-bind', EGRESS_RELAY, EGRESS_RELAY, '--ro-bind', egressSocket, EGRESS_SOCKET);
    command.unshift(node, EGRESS_RELAY, EGRESS_SOCKET, String(EGRESS_PORT));
    const proxy = `http://127.0.0.1:${EGRESS_PORT}`;
    // Both spellings: curl, Python and Go read either; Node 24's fetch reads them with NODE_USE_ENV_PROXY.
    Object.assign(proxyEnv, { HTTPS_PROXY: proxy, https_proxy: proxy, HTTP_PROXY: proxy, http_proxy: proxy, NODE_USE_ENV_PROXY: '1' });
  }
  return {
    command: namespaces.bwrap,
    args: bwrapArgs(binds, entry.cwd ?? '/tmp', command),
    // bubblewrap hands its environment to the program: only this, never the core's.
    env: { PATH: [...programFolders, ...SANDBOX_PATH].join(':'), HOME: '/tmp', ...proxyEnv, ...declared },
  };
}

/** The entry's env with `${VAR}` filled from the core's environment. @throws McpRefusal naming unset variables */
function declaredEnv(values: Readonly<Record<string, string>>, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, expanded(`env ${name}`, value, env)]));
}

/** `value` with its `${VAR}` filled in. @throws McpRefusal naming the unset variables */
export function expanded(what: string, value: string, env: Readonly<Record<string, string | undefined>>): string {
  const result = expandSecrets(value, env);
  if (!result.ok) throw new McpRefusal(`${what} needs ${result.missing.map((name) => `\${${name}}`).join(', ')}, not set in the core's environment`);
  return result.value;
}

/** The program's absolute path: as given, or the first executable of that name on PATH. */
function findProgram(command: string, path: string): string {
  const candidates = command.includes('/') ? [resolve(command)] : path.split(delimiter).filter(isAbsolute).map((folder) => join(folder, command));
  const found = candidates.find((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
  if (!found) throw new McpRefusal(`the program ${command} is not found${command.includes('/') ? '' : ' on PATH'} (or is not executable)`);
  return found;
}
