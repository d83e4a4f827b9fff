/**
 * What the processes of a benchmark run hold in memory, read from /proc (Linux): resident
 * memory per process, the process tree under `wrangler dev`, and the JS heap of a workerd
 * isolate through workerd's inspector (the Chrome DevTools Protocol it serves).
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import WebSocket from 'ws';

/** Resident memory (VmRSS) of a process in MiB, or 0 when it is gone. */
export async function rssMiB(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? 0);
    return kb / 1024;
  } catch {
    return 0;
  }
}

/** Every descendant of a process (workerd runs as a child of wrangler's node process). */
export async function descendants(root: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // The ppid is the 2nd field after the command, which is in parentheses and may hold spaces.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(Number(entry), ppid);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

/** The command line of a process ('' when it is gone). */
export async function commandOf(pid: number): Promise<string> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).replace(/\0/g, ' ').trim();
}

/** The loopback TCP ports a process listens on (from /proc/net/tcp and its socket descriptors). */
async function listeningPorts(pid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode) inodes.add(inode);
  }
  const ports: number[] = [];
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local_address is hex ip:port; state 0A is LISTEN; the inode is the 10th field.
    const [, local, , state, , , , , , inode] = fields;
    if (state === '0A' && local && inode && inodes.has(inode)) ports.push(Number.parseInt(local.split(':')[1] ?? '0', 16));
  }
  return ports;
}

/** One CDP call on a target's socket. */
function cdp<T>(url: string, method: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${method}: no answer from ${url}`));
    }, 5_000);
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ id: 1, method })));
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: T };
      if (message.id !== 1) return;
      clearTimeout(timer);
      ws.close();
      resolve(message.result as T);
    });
  });
}

/**
 * The JS heap (used and reserved, MiB) of the workerd isolate whose inspector target id starts
 * with `targetPrefix` (`core:user:` is the user's worker, its Durable Objects included), found
 * among the workerd processes in `pids`. Used includes garbage not yet collected (workerd's
 * inspector does not answer HeapProfiler.collectGarbage), so one reading says little; a trend
 * over rounds says whether something is kept.
 */
export async function isolateHeap(pids: number[], targetPrefix: string): Promise<{ used: number; total: number } | undefined> {
  for (const pid of pids) {
    if (!(await commandOf(pid)).includes('--inspector-addr')) continue;
    for (const port of await listeningPorts(pid)) {
      const targets = await fetch(`http://127.0.0.1:${port}/json/list`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.json() as Promise<unknown>)
        .catch(() => undefined);
      if (!Array.isArray(targets)) continue;
      const target = (targets as { id: string; webSocketDebuggerUrl: string }[]).find((t) => t.id.startsWith(targetPrefix));
      if (!target) continue;
      const usage = await cdp<{ usedSize: number; totalSize: number }>(target.webSocketDebuggerUrl, 'Runtime.getHeapUsage');
      return { used: usage.usedSize / 1_048_576, total: usage.totalSize / 1_048_576 };
    }
  }
  return undefined;
}
