import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { isRunning } from '../support.js';
import { describe, expect, it } from 'vitest';

/**
 * No child outlives the command that started it, however that ends. The parent is a real
 * process running the real code (dist: spawnNodeGroup, runUntilSignal), standing in for
 * `hearth dev`; its child stands in for wrangler and starts a grandchild (workerd). Checked by
 * pid once the parent is gone.
 */
const PARENT = resolve(import.meta.dirname, 'fixtures/group-parent.mjs');

interface Pids {
  parent: number;
  child: number;
  grandchild: number;
}

interface Parent {
  parent: ChildProcess;
  pids: Pids;
  ended: Promise<[number | null, NodeJS.Signals | null]>;
  /** Resolves once its log says the stop began. */
  stopping: Promise<void>;
}

async function startParent(): Promise<Parent> {
  // Detached: it leads a process group of its own, as `npm start` does in a terminal or under a supervisor.
  const parent = spawn(process.execPath, [PARENT], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const ended = once(parent, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let log = '';
  const stopping = new Promise<void>((resolve) =>
    parent.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      log += chunk;
      if (log.includes('"msg":"shutting down"')) resolve();
    }),
  );
  const [line] = (await once(parent.stdout?.setEncoding('utf8') ?? parent, 'data')) as [string];
  return { parent, pids: JSON.parse(line) as Pids, ended, stopping };
}


const still = (pids: Pids) => Object.entries(pids).filter(([, pid]) => isRunning(pid));

describe('the processes a command starts', { timeout: 30_000 }, () => {
  it.each([
    ['SIGTERM', 'its process group'],
    ['SIGINT', 'its process group'],
    ['SIGHUP', 'its process group'],
    ['SIGTERM', 'it alone'],
    ['SIGINT', 'it alone'],
    ['SIGHUP', 'it alone'],
  ] as const)('end after %s to %s, which it stops in order and exits 0', async (signal, target) => {
    const { parent, pids, ended } = await startParent();
    expect(still(pids).map(([role]) => role)).toEqual(['parent', 'child', 'grandchild']);
    process.kill(target === 'it alone' ? pids.parent : -pids.parent, signal);
    expect(await ended).toEqual([0, null]);
    await expect.poll(() => still(pids), { timeout: 10_000 }).toEqual([]);
    expect(parent.exitCode).toBe(0);
  });

  it('end after SIGTERM to the group and again to the parent while it stops (npm passing it on): one orderly stop', async () => {
    const { pids, ended, stopping } = await startParent();
    process.kill(-pids.parent, 'SIGTERM');
    await stopping;
    process.kill(pids.parent, 'SIGTERM');
    expect(await ended).toEqual([0, null]);
    await expect.poll(() => still(pids), { timeout: 10_000 }).toEqual([]);
  });

  it('end when the parent is killed with SIGKILL (no hook of its own runs): the watchdog in the child ends its group', async () => {
    const { pids, ended } = await startParent();
    process.kill(pids.parent, 'SIGKILL');
    expect(await ended).toEqual([null, 'SIGKILL']);
    await expect.poll(() => still(pids), { timeout: 10_000 }).toEqual([]);
  });

  it('end when the parent crashes on an uncaught error', async () => {
    const { pids, ended } = await startParent();
    process.kill(pids.parent, 'SIGUSR2');
    expect(await ended).toEqual([1, null]);
    await expect.poll(() => still(pids), { timeout: 10_000 }).toEqual([]);
  });
});
