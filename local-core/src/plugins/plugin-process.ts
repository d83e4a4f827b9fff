import { type ChildProcess, fork } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { backoffMs, HearthError } from '@hearth/shared';
import type { Logger } from '../logger.js';
import { LogLimiter } from './log-limiter.js';
import type { DataRequest } from './data-store.js';
import { type CallKind, type ChildMessage, ChildMessageSchema, type FetchRequest, type HostMessage, type InitMessage, type PushRequest } from './ipc.js';
import { HOST, type NamespaceSupport, sandboxFor } from './sandbox.js';

/** Why a call did not return a result (`cpu`, `output`: a limit of the engine's, see host.mjs). */
export type PluginCallErrorCode = 'timeout' | 'crashed' | 'memory' | 'cpu' | 'output' | 'plugin_error' | 'stopped' | 'backoff' | 'start_failed';

/** What each limit the plugin host reports is, as a call's error. */
const LIMIT_CODES = { memory: 'memory', time: 'timeout', idle_cpu: 'cpu', output: 'output' } as const satisfies Record<string, PluginCallErrorCode>;

/** A plugin call that failed; `code` says how, the message says it for a person. */
export class PluginCallError extends HearthError {
  override readonly name = 'PluginCallError';
  constructor(
    readonly reason: PluginCallErrorCode,
    message: string,
  ) {
    super(`plugin_${reason}`, message);
  }
}

/** Who a call is for: where its replies and pushes go. */
export interface CallContext {
  conversationId: string | null;
  senderId: string | null;
  /** What caused the call (a message id, a schedule's fire time): pushes without an id derive their key from it. */
  trigger: string;
}

/** What the core does for a plugin: fetch, push and storage (each checked), for the call that asked (undefined: outside any call). */
export interface PluginServices {
  fetch(request: FetchRequest, timeoutMs: number): Promise<unknown>;
  push(request: PushRequest, call: CallContext | undefined): Promise<unknown>;
  data(request: DataRequest): Promise<unknown>;
}

/** One plugin as its host process gets it: its code, what it may use, its limits. */
export interface PluginCode {
  name: string;
  /** The handler module's path among `files`. */
  entry: string;
  /** Its .js and .mjs files by relative path. */
  files: Record<string, string>;
  /** The declared secrets' values. */
  secrets: Record<string, string>;
  data: boolean;
  memoryMb: number;
  idleCpuMs: number;
}

export interface PluginProcessOptions {
  code: PluginCode;
  timeoutMs: number;
  /** bubblewrap for namespaces of its own, or undefined: Node's permission model around the engine only. */
  namespaces: NamespaceSupport | undefined;
  /** Where the host process's stderr goes (a file; it is read back when the process dies). */
  stderrPath: string;
  services: PluginServices;
  log: Logger;
  /** Longest start (the handler module's evaluation) before the process is killed. */
  startTimeoutMs?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: PluginCallError): void;
  timer: NodeJS.Timeout;
  context: CallContext;
}

/** Host services (fetches, pushes, storage) one plugin may have in flight at once. */
const MAX_SERVICES_IN_FLIGHT = 8;
const MAX_BACKOFF_MS = 30_000;
const FIRST_BACKOFF_MS = 250;
/** Largest result a plugin may return, in characters of its JSON (past it the plugin is stopped). */
const MAX_OUTPUT_CHARS = 256 * 1024;

/**
 * One plugin's host process: started on the first call (and again after it dies), its code run
 * in a QuickJS engine inside it (see plugin-runtime/host.mjs, sandbox.ts), each call under the
 * plugin's time budget. The host stops a plugin that breaks a limit of the engine's (memory, CPU
 * in a call or while idle, output) and says which; a call past its wall-clock budget kills the
 * process here. Either way the calls it had fail, and the next call starts a fresh process after
 * a backoff that doubles with each death in a row. Nothing the process sends is trusted.
 */
export class PluginProcess {
  /** The live child, from fork until it exits. */
  private child: ChildProcess | undefined;
  /** Resolves once the live child said it is ready (its handler module loaded). */
  private ready: Promise<ChildProcess> | undefined;
  private readonly pending = new Map<string, Pending>();
  private nextCall = 1;
  private active = 0;
  private halted = false;
  private failures = 0;
  private notBefore = 0;
  private stopped = false;
  /** Why the current child is being killed by us, to report instead of "crashed". */
  private killReason: { code: PluginCallErrorCode; message: string; limit?: string } | undefined;
  private readonly logLimit = new LogLimiter();
  private servicesInFlight = 0;
  /** Handlers the child found in its module (said in its ready message). */
  handlers: { commands: string[]; tools: string[]; schedules: string[] } | undefined;

  constructor(private readonly options: PluginProcessOptions) {}

  get name(): string {
    return this.options.code.name;
  }

  /** Calls in flight (waiting for the child to start, or running in it). */
  get busy(): number {
    return this.active;
  }

  /** The child's pid while it runs (for tests and status). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Runs one handler in the child and resolves with what it returned.
   *
   * @throws PluginCallError timeout, crashed, memory, plugin_error (the handler threw), stopped, backoff, start_failed
   */
  async call(kind: CallKind, name: string, args: unknown, context: CallContext): Promise<unknown> {
    if (this.stopped) throw new PluginCallError('stopped', `plugin ${this.name} is stopped`);
    // Counted from here, not from when the child has it: a call still waiting for the child to
    // start is running too, and a retired process lets it finish.
    this.active += 1;
    try {
      return await this.callNow(kind, name, args, context);
    } finally {
      this.active -= 1;
    }
  }

  private async callNow(kind: CallKind, name: string, args: unknown, context: CallContext): Promise<unknown> {
    const wait = this.notBefore - Date.now();
    if (wait > this.options.timeoutMs) {
      throw new PluginCallError('backoff', `plugin ${this.name} failed ${this.failures} times in a row; next try in ${Math.ceil(wait / 1000)} s`);
    }
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const child = await this.ensureStarted();
    const id = `c${this.nextCall++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.options.log.warn({ plugin: this.name, kind, name, timeoutMs: this.options.timeoutMs }, 'plugin call timed out; child killed');
        this.kill('timeout', `plugin ${this.name}: ${kind} ${name} took longer than its ${this.options.timeoutMs} ms budget and was stopped`);
      }, this.options.timeoutMs);
      this.pending.set(id, { resolve, reject, timer, context });
      this.send(child, { type: 'call', id, kind, name, args, context: { conversationId: context.conversationId, senderId: context.senderId, trigger: context.trigger } });
    });
  }

  /** Starts the child now (plugins with schedules or timers run before their first call). */
  async start(): Promise<void> {
    await this.ensureStarted();
  }

  /** Lets the calls in flight finish (each within its budget), then stops: a reloaded plugin's old child. */
  async retire(): Promise<void> {
    this.stopped = true;
    while (this.active > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.dispose();
  }

  /** Stops the child now; calls in flight fail with `stopped`. Idempotent. */
  async dispose(): Promise<void> {
    this.stopped = true;
    this.halted = true;
    const child = this.child;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.kill('stopped', `plugin ${this.name} was stopped`);
    await exited;
  }

  private ensureStarted(): Promise<ChildProcess> {
    // After dispose() nothing starts again, not even for a call that was waiting out a backoff.
    if (this.halted) return Promise.reject(new PluginCallError('stopped', `plugin ${this.name} is stopped`));
    this.ready ??= this.spawn();
    return this.ready;
  }

  private spawn(): Promise<ChildProcess> {
    const { code } = this.options;
    const plan = sandboxFor(code.memoryMb, this.options.namespaces);
    const stderr = openSync(this.options.stderrPath, 'w', 0o600);
    let child: ChildProcess;
    try {
      child = fork(HOST, [], { execPath: plan.execPath, execArgv: plan.execArgv, env: {}, cwd: '/', stdio: ['ignore', 'ignore', stderr, 'ipc'], serialization: 'json' });
    } finally {
      closeSync(stderr);
    }
    this.child = child;
    this.killReason = undefined;
    const init: InitMessage = {
      type: 'init',
      plugin: code.name,
      entry: code.entry,
      files: code.files,
      secrets: code.secrets,
      data: code.data,
      limits: { memoryMb: code.memoryMb, timeoutMs: this.options.timeoutMs, startTimeoutMs: this.startTimeoutMs, idleCpuMs: code.idleCpuMs, maxOutputChars: MAX_OUTPUT_CHARS },
    };
    this.send(child, init);
    return new Promise((resolve, reject) => {
      let ready = false;
      const startTimer = setTimeout(() => this.kill('start_failed', `plugin ${this.name} did not start within ${this.startTimeoutMs} ms`), this.startTimeoutMs);
      child.on('message', (raw: unknown) => {
        const parsed = ChildMessageSchema.safeParse(raw);
        if (!parsed.success) {
          this.options.log.warn({ plugin: this.name, problem: parsed.error.issues[0]?.message }, 'plugin sent a message of the wrong shape; ignored');
          return;
        }
        const message = parsed.data;
        if (message.type === 'ready' && !ready) {
          ready = true;
          clearTimeout(startTimer);
          this.handlers = { commands: message.commands, tools: message.tools, schedules: message.schedules };
          resolve(child);
          return;
        }
        if (message.type === 'fatal' && !ready) this.killReason = { code: 'start_failed', message: `plugin ${this.name} could not start: ${message.message}` };
        this.onMessage(child, message);
      });
      child.on('error', (error) => this.options.log.warn({ plugin: this.name, err: error.message }, 'plugin child error'));
      child.once('exit', (code, signal) => {
        clearTimeout(startTimer);
        const failure = this.exitFailure(code, signal);
        if (this.child === child) {
          this.child = undefined;
          this.ready = undefined;
        }
        for (const [id, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new PluginCallError(failure.code, failure.message));
          this.pending.delete(id);
        }
        if (failure.code !== 'stopped') {
          this.failures += 1;
          const delay = backoffMs(this.failures - 1, { baseMs: FIRST_BACKOFF_MS, capMs: MAX_BACKOFF_MS });
          this.notBefore = Date.now() + delay;
          this.options.log.warn(
            { plugin: this.name, reason: failure.code, limit: failure.limit, code, signal, failures: this.failures, backoffMs: delay, detail: failure.message },
            'plugin child ended',
          );
        }
        if (!ready) reject(new PluginCallError(failure.code === 'stopped' ? 'stopped' : 'start_failed', failure.message));
      });
    });
  }

  private get startTimeoutMs(): number {
    return this.options.startTimeoutMs ?? Math.max(5_000, this.options.timeoutMs);
  }

  /** How a child's end reads: our kill's reason, else what its exit and stderr say. */
  private exitFailure(code: number | null, signal: NodeJS.Signals | null): { code: PluginCallErrorCode; message: string; limit?: string } {
    if (this.killReason) return this.killReason;
    const tail = this.stderrTail();
    if (/heap out of memory|Reached heap limit|Allocation failed/i.test(tail)) {
      return { code: 'memory', message: `plugin ${this.name} ran out of its ${this.options.code.memoryMb} MB memory budget and was stopped` };
    }
    return { code: 'crashed', message: `plugin ${this.name} crashed (${signal ?? `exit code ${code}`})${tail ? `: ${tail.trim().split('\n').slice(-3).join(' | ')}` : ''}` };
  }

  private stderrTail(): string {
    try {
      return readFileSync(this.options.stderrPath, 'utf8').slice(-4_000);
    } catch {
      return '';
    }
  }

  /** Kills the child with SIGKILL, remembering why (a plugin gets no say in its own shutdown). */
  private kill(code: PluginCallErrorCode, message: string): void {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.killReason ??= { code, message };
    child.kill('SIGKILL');
  }

  private onMessage(child: ChildProcess, message: ChildMessage): void {
    const log = this.options.log;
    switch (message.type) {
      case 'result':
      case 'error': {
        const pending = this.pending.get(message.id);
        if (!pending) return;
        this.pending.delete(message.id);
        clearTimeout(pending.timer);
        if (message.type === 'result') {
          this.failures = 0;
          pending.resolve(message.value);
        } else {
          pending.reject(new PluginCallError('plugin_error', message.message));
        }
        return;
      }
      case 'log':
        if (this.logLimit.allow(log, this.name)) log[message.level]({ plugin: this.name }, `plugin: ${message.msg}`);
        return;
      case 'violation':
        if (this.logLimit.allow(log, this.name)) log.warn({ plugin: this.name, what: message.what, detail: message.detail }, 'plugin attempted something it is not allowed to; refused');
        return;
      case 'fatal':
        log.warn({ plugin: this.name, detail: message.message }, 'plugin failed');
        return;
      case 'limit':
        // Logged once, with the limit, when the process has ended ('plugin child ended').
        this.killReason ??= { code: LIMIT_CODES[message.limit], message: message.detail, limit: message.limit };
        this.kill(LIMIT_CODES[message.limit], message.detail);
        return;
      case 'service': {
        if (this.servicesInFlight >= MAX_SERVICES_IN_FLIGHT) {
          this.send(child, { type: 'service_result', id: message.id, ok: false, error: `at most ${MAX_SERVICES_IN_FLIGHT} fetches and pushes at once` });
          return;
        }
        this.servicesInFlight += 1;
        const context = message.call === null ? undefined : this.pending.get(message.call)?.context;
        const { services } = this.options;
        const work =
          message.service === 'fetch'
            ? services.fetch(message.request, this.options.timeoutMs)
            : message.service === 'push'
              ? services.push(message.request, context)
              : services.data(message.request);
        work
          .then(
            (value) => this.send(child, { type: 'service_result', id: message.id, ok: true, value: value ?? null }),
            (error: unknown) => this.send(child, { type: 'service_result', id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
          )
          .finally(() => {
            this.servicesInFlight -= 1;
          });
        return;
      }
      case 'ready':
        return;
    }
  }

  private send(child: ChildProcess, message: HostMessage): void {
    if (child.connected) child.send(message);
  }
}
