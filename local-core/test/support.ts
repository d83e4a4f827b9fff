import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';

/** The small real model tests load (see ../shared/models/README.md). */
export const TEST_MODEL = resolve(process.env.HEARTH_TEST_MODEL ?? join(import.meta.dirname, '../../../shared/models/stories260K.gguf'));

export const silentLogger = () => pino({ level: 'silent' });

/** A logger whose JSON lines land in `lines`, for asserting on what an operator would read. */
export function capturingLogger(level: string): { log: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write: (chunk, _encoding, done) => {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level }, sink), lines };
}

/** A temporary folder, removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-core-test-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A TCP port free on loopback right now (for a server a test starts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** The `hearth` CLI as a user runs it: from dist, built by `tsc -b` (turbo's `test` depends on `build`). */
const HEARTH_BIN = resolve(import.meta.dirname, '../bin/hearth.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `hearth <args>` to its end in `cwd`, with a bare environment (PATH, HOME and `env`) so no
 * .env or HEARTH_* of the machine leaks in.
 */
export function runHearth(args: string[], { cwd, env = {} }: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [HEARTH_BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** Whether `pid` is running, and not a zombie nobody reaped yet (a container's init may not). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}
