import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The host-owned files every plugin host process runs (plain JS: the process reads them, it cannot compile). */
export const RUNTIME_DIR = fileURLToPath(new URL('../../plugin-runtime/', import.meta.url));
export const HOST = `${RUNTIME_DIR}host.mjs`;

/** How a plugin host process is started: node itself, or bubblewrap in front of it. */
export interface SandboxPlan {
  execPath: string;
  execArgv: string[];
  /** Whether the process has mount, network, pid, IPC, UTS and user namespaces of its own. */
  namespaces: boolean;
}

/** The owner's choice (HEARTH_PLUGINS_ISOLATION): namespaces when they work, always, or never. */
export type IsolationMode = 'auto' | 'namespaces' | 'off';

/** What the operating system layer can be on this machine: bubblewrap's path, or why there is none. */
export type NamespaceSupport = { ok: true; bwrap: string } | { ok: false; reason: string };

const BWRAP = ['/usr/bin/bwrap', '/bin/bwrap'];
let probed: NamespaceSupport | undefined;

/**
 * Whether bubblewrap can make unprivileged namespaces here (probed once: it runs `true` in them).
 * Containers and kernels with user namespaces off say no; the reason is what the owner reads.
 */
export function namespaceSupport(): NamespaceSupport {
  if (probed) return probed;
  const bwrap = BWRAP.find((path) => existsSync(path));
  if (!bwrap) probed = { ok: false, reason: 'bubblewrap is not installed (apt install bubblewrap)' };
  else {
    const run = spawnSync(bwrap, ['--unshare-all', '--die-with-parent', '--ro-bind', '/', '/', 'true'], { encoding: 'utf8', timeout: 10_000 });
    probed =
      run.status === 0
        ? { ok: true, bwrap }
        : { ok: false, reason: `bubblewrap cannot make namespaces here (${(run.stderr || run.error?.message || `exit ${run.status}`).trim().slice(0, 200)}); user namespaces may be off` };
  }
  return probed;
}

// Node 22.13+ and 24 call the permission model --permission; 20 only knows the experimental name.
const PERMISSION_FLAG = process.allowedNodeEnvironmentFlags.has('--permission') ? '--permission' : '--experimental-permission';

let readable: string[] | undefined;

/** The node_modules folders holding the engine's packages: Node's resolver reads there, and only there. */
function readableFolders(): string[] {
  readable ??= findReadableFolders();
  return readable;
}

function findReadableFolders(): string[] {
  const require = createRequire(HOST);
  const roots = new Set<string>();
  for (const name of ['quickjs-emscripten-core', '@jitl/quickjs-wasmfile-release-sync', '@jitl/quickjs-ffi-types']) {
    const entry = realpathSync(require.resolve(name));
    roots.add(entry.slice(0, entry.lastIndexOf(`${sep}node_modules${sep}${name.replace('/', sep)}${sep}`) + `${sep}node_modules`.length));
  }
  return [RUNTIME_DIR.replace(/\/$/, ''), ...roots];
}

/**
 * How to start one plugin host. Node's permission model reads only the runtime and the engine's
 * packages, writes nothing, starts no process or worker, loads no addon; V8's heap is capped for
 * the host's own objects (the plugin's memory is the engine's WebAssembly memory, capped by the
 * host). With namespaces, bubblewrap also gives it a file system of those folders and the system
 * libraries only, no network (a loopback of its own, down), its own pids, no capabilities, and
 * ends it with the core.
 *
 * @example
 * const plan = sandboxFor(64, namespaceSupport());
 * fork(HOST, [], { execPath: plan.execPath, execArgv: plan.execArgv, env: {}, cwd: '/' });
 */
export function sandboxFor(memoryMb: number, namespaces: NamespaceSupport | undefined): SandboxPlan {
  const folders = readableFolders();
  const nodeArgv = [
    PERMISSION_FLAG,
    ...folders.map((path) => `--allow-fs-read=${path}`),
    '--no-addons',
    `--max-old-space-size=${Math.max(64, memoryMb * 2)}`,
    // Room under the engine's own 256 KiB stack check (host.mjs): deep recursion in a plugin
    // (toJSON calling itself) is then the plugin's RangeError, not an overflow of Node's stack.
    // Well inside the 8 MiB a Linux main thread gets.
    '--stack-size=3000',
    '--no-warnings',
  ];
  if (!namespaces?.ok) return { execPath: process.execPath, execArgv: nodeArgv, namespaces: false };
  const node = realpathSync(process.execPath);
  const binds = readOnlyBinds([...systemFolders(), ...new Set([dirname(node), ...folders])]);
  return {
    execPath: namespaces.bwrap,
    execArgv: bwrapArgs(binds, '/', [node, ...nodeArgv]),
    namespaces: true,
  };
}

/**
 * bubblewrap's command line for a program that is not trusted: every namespace of its own, no
 * capabilities, ended with the core, an empty /tmp first (a later bind under /tmp stays
 * visible), then `binds`, its own /proc and /dev, started in `chdir`.
 */
export function bwrapArgs(binds: readonly string[], chdir: string, command: readonly string[]): string[] {
  return ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL', '--tmpfs', '/tmp', ...binds, '--proc', '/proc', '--dev', '/dev', '--chdir', chdir, '--', ...command];
}

/** Read-only binds of `paths` at the same place; a symbolic link (merged /usr's /lib, /bin) is made again as one. */
export function readOnlyBinds(paths: readonly string[]): string[] {
  return paths.flatMap((path) => (isLink(path) ? ['--symlink', realpathSync(path), path] : ['--ro-bind', path, path]));
}

/** What the dynamic loader needs to start node (merged-/usr systems have links for /lib and /bin). */
function systemFolders(): string[] {
  return ['/usr', '/lib', '/lib64', '/lib32', '/bin', '/etc/ld.so.cache'].filter((path) => existsSync(path) || isLink(path));
}

export function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
