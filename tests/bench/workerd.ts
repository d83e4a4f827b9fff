/**
 * Workers under workerd as production runs them, for benchmarks: a bundle (what `wrangler
 * deploy` uploads) served by Miniflare's workerd directly, without `wrangler dev`'s proxy and
 * node process in front, and the CPU time that workerd process spent, read from /proc.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Miniflare as MiniflareClass, MiniflareOptions } from 'miniflare';
import { CoreProcess } from '../support/core-process.js';
import { freePort, TEST_MODEL } from '../support/system.js';
import { descendants } from './process-memory.js';

const run = promisify(execFile);

/** Miniflare as wrangler pins it (the workerd the edge is tested and deployed with). */
async function miniflare(edgeDir: string): Promise<typeof MiniflareClass> {
  const wrangler = createRequire(join(edgeDir, 'package.json')).resolve('wrangler/package.json');
  const module = (await import(createRequire(wrangler).resolve('miniflare'))) as { Miniflare: typeof MiniflareClass };
  return module.Miniflare;
}

/** Bundles the edge worker of `edgeDir` as `wrangler deploy` would (its dry run) into `outDir`; returns the script. */
export async function bundleEdge(edgeDir: string, outDir: string): Promise<string> {
  const wrangler = createRequire(join(edgeDir, 'package.json')).resolve('wrangler/bin/wrangler.js');
  await run(process.execPath, [wrangler, 'deploy', '--dry-run', '--outdir', outDir], {
    cwd: edgeDir,
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', NO_UPDATE_NOTIFIER: '1' },
  });
  return join(outDir, 'index.js');
}

export interface Workerd {
  url: string;
  /** The workerd process serving it. */
  pid: number;
  stop(): Promise<void>;
}

/** CPU time (user + system) a process has used, in ms. */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // utime and stime are fields 14 and 15; the command (field 2) is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS;
}
/** USER_HZ: 100 on every Linux this runs on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

async function workerdPids(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const pid of await descendants(process.pid)) {
    const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (comm.trim() === 'workerd') pids.add(pid);
  }
  return pids;
}

/** Serves `options` under a workerd of its own on 127.0.0.1:`port` (the edge's Miniflare). */
export async function startWorkerd(edgeDir: string, port: number, options: MiniflareOptions): Promise<Workerd> {
  const Miniflare = await miniflare(edgeDir);
  const before = await workerdPids();
  const mf = new Miniflare({ host: '127.0.0.1', port, ...options } as MiniflareOptions);
  const url = (await mf.ready).toString().replace(/\/$/, '');
  const pid = [...(await workerdPids())].find((p) => !before.has(p));
  if (pid === undefined) throw new Error('no workerd process found for the new Miniflare');
  return { url, pid, stop: () => mf.dispose() };
}

/** The control: a worker that stores each request's body as one row in a SQLite-backed Durable Object. */
export const BARE_INSERT_WORKER = `
import { DurableObject } from 'cloudflare:workers';
export class Rows extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS rows (id INTEGER PRIMARY KEY, body TEXT NOT NULL, at INTEGER NOT NULL)');
  }
  async insert(body) {
    this.ctx.storage.sql.exec('INSERT INTO rows (body, at) VALUES (?, ?)', body, Date.now());
  }
}
export default {
  async fetch(request, env) {
    await env.ROWS.get(env.ROWS.idFromName('main')).insert(await request.text());
    return Response.json({ ok: true });
  },
};`;

/** The bench's home core: the echo engine behind `edgeUrl`, 64 sequences, its own data folder and admin port. */
export async function echoCore(edgeUrl: string, keyFile: string, coreId: string, dataDir: string): Promise<CoreProcess> {
  return new CoreProcess({
    HEARTH_EDGE_URL: edgeUrl,
    HEARTH_KEY_FILE: keyFile,
    HEARTH_MODEL: TEST_MODEL,
    HEARTH_ENGINE: 'echo',
    HEARTH_SEQUENCES: '64',
    HEARTH_THREADS: '1',
    HEARTH_CORE_ID: coreId,
    HEARTH_DATA_DIR: dataDir,
    HEARTH_ADMIN_PORT: String(await freePort()),
  });
}
