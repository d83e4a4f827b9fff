/**
 * Resident memory of a real core process (`hearth start`, connected to a real edge), beside a
 * bare Node process started at the same moment (the floor: what Node itself holds), both read
 * from /proc once the core is connected and again after `settleMs` of idleness (V8 gives back
 * its young generation and unused pages only some seconds after start-up work ends).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSystem } from '../support/system.js';
import { rssMiB } from './process-memory.js';

export interface RssReading {
  core: { connected: number; settled: number };
  bareNode: { connected: number; settled: number };
}

export async function coreRss(env: Record<string, string>, settleMs: number): Promise<RssReading> {
  const bare = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    const system = await startSystem({ coreEnv: env });
    try {
      const core = system.core.pid ?? 0;
      const connected = { core: await rssMiB(core), bare: await rssMiB(bare.pid ?? 0) };
      await sleep(settleMs);
      return {
        core: { connected: connected.core, settled: await rssMiB(core) },
        bareNode: { connected: connected.bare, settled: await rssMiB(bare.pid ?? 0) },
      };
    } finally {
      await system.stop();
    }
  } finally {
    bare.kill();
    await once(bare, 'exit');
  }
}
