import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';

/** The `hearth` CLI of this checkout, as a user runs it. */
export const HEARTH_BIN = resolve(import.meta.dirname, '../../local-core/bin/hearth.js');

export interface LogLine {
  msg?: string;
  level?: number;
  [field: string]: unknown;
}

/**
 * A real core process (`hearth start`), its JSON log lines parsed as they come, so tests can
 * wait for "tunnel connected" or look for a message id.
 */
export class CoreProcess {
  readonly lines: LogLine[] = [];
  readonly raw: string[] = [];
  /** What it printed on stdout (command output; logs go to stderr). */
  stdout = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  /** `options.cwd`: the working folder (where `.env` is read and relative paths start); default this one. */
  constructor(env: Record<string, string>, args: string[] = ['start'], options: { cwd?: string } = {}) {
    this.child = spawn(process.execPath, [HEARTH_BIN, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        this.raw.push(line);
        try {
          this.lines.push(JSON.parse(line) as LogLine);
        } catch {
          // not a log line (e.g. a CLI error message): kept in `raw`
        }
      }
    });
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.raw.push(chunk);
      this.stdout += chunk;
    });
    this.exited = once(this.child, 'exit').then(([code]) => code as number | null);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Resolves with the first log line matching, waiting up to `timeoutMs`. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (this.child.exitCode !== null) throw new Error(`core exited (${this.child.exitCode}):\n${this.raw.join('\n')}`);
      if (Date.now() > deadline) throw new Error(`core log line not seen within ${timeoutMs} ms:\n${this.raw.slice(-20).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}
