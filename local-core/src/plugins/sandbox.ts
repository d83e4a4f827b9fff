import { fileURLToPath } from 'node:url';

/** The host-owned files every plugin child runs (plain JS: the child reads them, it cannot compile). */
export const RUNTIME_DIR = fileURLToPath(new URL('../../plugin-runtime/', import.meta.url));
export const RUNNER = `${RUNTIME_DIR}runner.mjs`;
export const LOCKDOWN = `${RUNTIME_DIR}lockdown.mjs`;

/** What a child is started with: the fork options of one plugin. */
export interface SandboxPlan {
  /** The program fork runs: node itself, or `unshare` in front of it. */
  execPath: string;
  execArgv: string[];
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

export interface SandboxInput {
  name: string;
  /** The plugin's folder and its entry (real paths: the permission model compares resolved paths). */
  dir: string;
  entryPath: string;
  /** Its data folder, or undefined when the manifest asks for none. */
  dataDir: string | undefined;
  memoryMb: number;
  /** The declared secrets' values, the only environment it gets. */
  secrets: Record<string, string>;
  /** Also run it in a network namespace of its own (`unshare --net`; needs root or CAP_SYS_ADMIN). */
  netns?: string | undefined;
}

/**
 * Node's permission model, with reads allowed of the plugin's folder, its data folder and the
 * runtime files, writes of its data folder only; no child processes, no worker threads, no
 * native addons. V8's heap is capped at the plugin's memory budget. The environment holds the
 * declared secrets and nothing of the core's. (Node 20.20 takes one path per --allow-fs-* flag.)
 *
 * @example
 * const plan = sandboxFor({ name: 'weather', dir, entryPath, dataDir: undefined, memoryMb: 64, secrets: {} });
 * fork(RUNNER, plan.args, { execPath: plan.execPath, execArgv: plan.execArgv, env: plan.env, cwd: plan.cwd });
 */
export function sandboxFor(input: SandboxInput): SandboxPlan {
  const reads = [input.dir, RUNTIME_DIR, ...(input.dataDir ? [input.dataDir] : [])];
  const nodeArgv = [
    '--experimental-permission',
    ...reads.map((path) => `--allow-fs-read=${path}`),
    ...(input.dataDir ? [`--allow-fs-write=${input.dataDir}`] : []),
    '--no-addons',
    `--max-old-space-size=${input.memoryMb}`,
    '--no-warnings',
    `--import=${LOCKDOWN}`,
  ];
  const common = { args: [input.entryPath, input.dataDir ?? '', input.name], env: { ...input.secrets }, cwd: input.dataDir ?? input.dir };
  if (input.netns) return { ...common, execPath: input.netns, execArgv: ['--net', '--', process.execPath, ...nodeArgv] };
  return { ...common, execPath: process.execPath, execArgv: nodeArgv };
}
