import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { descendants } from '../bench/process-memory.js';
import { HEARTH_BIN } from '../support/core-process.js';
import { isRunning } from '../../local-core/test/support.js';
import { freePort } from '../support/system.js';

/**
 * `npm start` (npm → `hearth dev` → wrangler → workerd, the core in hearth's process) ends with
 * everything it started, as a supervisor or a closing terminal ends it: SIGTERM to npm's process
 * group (which npm then passes on to hearth as well), or npm or hearth killed outright. Checked by pid.
 */
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-dev-signals-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));


/** `npm start` in a folder of its own (its .env and .hearth/ land there), once the core is connected. */
async function npmStart(): Promise<{ npm: ChildProcess; pids: number[]; ended: Promise<unknown[]> }> {
  const port = await freePort();
  await writeFile(join(dir, 'package.json'), JSON.stringify({ private: true, scripts: { start: `node ${HEARTH_BIN} dev --port ${port}` } }));
  // Detached: npm leads a process group, as in a terminal or under a supervisor.
  const npm = spawn('npm', ['start', '--silent'], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', HEARTH_ENGINE: 'echo', HEARTH_ADMIN_PORT: '0', HEARTH_RECALL: 'off', HEARTH_PLUGINS: 'off' },
  });
  const ended = once(npm, 'exit');
  let output = '';
  await new Promise<void>((resolve, reject) => {
    for (const stream of [npm.stdout, npm.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('Hearth is up')) resolve();
      });
    }
    void ended.then(() => reject(new Error(`npm start ended before the core connected:\n${output}`)));
  });
  const pids = [npm.pid as number, ...(await descendants(npm.pid as number))];
  return { npm, pids, ended };
}

describe('npm start', { timeout: 120_000 }, () => {
  it('leaves no process behind after SIGTERM to its process group', async () => {
    const { pids, ended } = await npmStart();
    // hearth, wrangler's node and workerd at least.
    expect(pids.length).toBeGreaterThanOrEqual(4);
    process.kill(-(pids[0] as number), 'SIGTERM');
    await ended;
    await expect.poll(() => pids.filter(isRunning), { timeout: 30_000 }).toEqual([]);
  });

  it('leaves no process behind when hearth dev is killed with SIGKILL', async () => {
    const { pids, ended } = await npmStart();
    // node …/hearth.js dev, not the `sh -c` npm runs it with.
    const hearth = pids.find((pid) => /^\S*node\0\S*hearth\.js\0dev\0/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8')));
    expect(hearth).toBeDefined();
    process.kill(hearth as number, 'SIGKILL');
    await ended;
    await expect.poll(() => pids.filter(isRunning), { timeout: 30_000 }).toEqual([]);
  });

  it('leaves no process behind when npm itself is killed with SIGKILL', async () => {
    const { pids, ended } = await npmStart();
    process.kill(pids[0] as number, 'SIGKILL');
    await ended;
    await expect.poll(() => pids.filter(isRunning), { timeout: 30_000 }).toEqual([]);
  });
});
