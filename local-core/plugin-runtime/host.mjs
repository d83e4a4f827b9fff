// @ts-check
/**
 * A plugin's host process: `node <permission flags> host.mjs`, started by the core (see
 * src/plugins/plugin-process.ts), in namespaces of its own where bubblewrap works (sandbox.ts).
 * The plugin's code runs in a QuickJS engine compiled to WebAssembly: no `process`, no `require`,
 * no file system, no sockets, only what prelude.js builds from the host's messages. This process
 * is ours; it enforces the limits the engine cannot see by itself:
 *
 * - memory: the WebAssembly memory of the engine has a hard maximum (the plugin's budget plus the
 *   engine's own); an allocation past it fails in the plugin, and the plugin is stopped;
 * - time: every entry into the engine (a call, a timer, a settled request) runs with a CPU
 *   deadline, checked by the engine's interrupt handler: the rest of the call's budget during a
 *   call, the rest of the idle budget of the current second outside one;
 * - output: a message from the plugin past MAX_MESSAGE_CHARS (a result past maxOutputChars);
 * - host requests in flight (fetch, push, data) and live timers.
 * A plugin over a limit is stopped: this process says which limit and exits; the core restarts
 * it with backoff. Its first message from the core is `init`, with the plugin's source files.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import { newQuickJSWASMModuleFromVariant, newVariant } from 'quickjs-emscripten-core';

const PRELUDE = readFileSync(new URL('./prelude.js', import.meta.url), 'utf8');
const MIB = 1024 * 1024;
/** WebAssembly memory the engine needs before the plugin allocates anything. */
const ENGINE_MB = 16;
const PAGE = 65_536;
const MAX_MESSAGE_CHARS = 1024 * 1024;
const MAX_TIMERS = 1_000;
const MAX_REQUESTS_IN_FLIGHT = 8;
// Small enough that the engine's own check fires before Node's native stack runs out under it.
const STACK_BYTES = 256 * 1024;

if (!process.send) {
  process.stderr.write('host.mjs is started by the Hearth core, not by hand\n');
  process.exit(2);
}
/** @param {Record<string, unknown>} message */
const toCore = (message) => {
  if (process.connected) process.send?.(message);
};

/**
 * @typedef {{ type: 'init', plugin: string, entry: string, files: Record<string, string>, secrets: Record<string, string>, data: boolean,
 *   limits: { memoryMb: number, timeoutMs: number, startTimeoutMs: number, idleCpuMs: number, maxOutputChars: number } }} Init
 */

/** @type {Init} */
const init = await new Promise((resolve) => process.once('message', (message) => resolve(/** @type {Init} */ (message))));

let stopping = false;
/**
 * Stops this plugin for breaking a limit: the core is told which, then the process ends.
 * @param {'memory' | 'time' | 'idle_cpu' | 'output'} limit @param {string} detail
 */
function stop(limit, detail) {
  if (stopping) return;
  stopping = true;
  if (process.connected) process.send?.({ type: 'limit', limit, detail }, () => process.exit(3));
  else process.exit(3);
}

// Without bubblewrap nothing else ends this process with the core: its channel closing does.
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', (error) => {
  toCore({ type: 'fatal', message: `plugin host failed: ${error.message}` });
  process.exit(1);
});

const maxBytes = (init.limits.memoryMb + ENGINE_MB) * MIB;
// ES2023's lib has no WebAssembly value (Node has it): typed here for the one use.
/** @typedef {NonNullable<import('quickjs-emscripten-core').CustomizeVariantOptions['wasmMemory']>} WasmMemoryOption */
const Wasm = /** @type {{ Memory: new (size: { initial: number, maximum: number }) => WasmMemoryOption & { buffer: ArrayBuffer } }} */ (Reflect.get(globalThis, 'WebAssembly'));
const wasmMemory = new Wasm.Memory({ initial: (ENGINE_MB * MIB) / PAGE, maximum: maxBytes / PAGE });
// The package's types describe its CommonJS face; its ESM default export is the variant itself.
const syncVariant = /** @type {import('quickjs-emscripten-core').QuickJSSyncVariant} */ (/** @type {unknown} */ (variant));
const QuickJS = await newQuickJSWASMModuleFromVariant(newVariant(syncVariant, { wasmMemory }));
const runtime = QuickJS.newRuntime();
runtime.setMaxStackSize(STACK_BYTES);

// CPU time, in microseconds, of this process (the engine runs on its only JS thread).
const cpuNow = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

/** Calls the core gave us that have not finished: their CPU budget left (µs). */
/** @type {Map<string, { leftUs: number }>} */
const calls = new Map();
let idleWindow = 0;
let idleUsedUs = 0;
let deadline = Number.POSITIVE_INFINITY;
let interrupted = false;
runtime.setInterruptHandler(() => {
  if (cpuNow() <= deadline) return false;
  interrupted = true;
  return true;
});

/** The CPU this entry may take: the least any running call has left, or the idle budget's rest. */
function budgetUs() {
  if (calls.size > 0) return Math.min(...[...calls.values()].map((call) => call.leftUs));
  const second = Math.floor(Date.now() / 1000);
  if (second !== idleWindow) {
    idleWindow = second;
    idleUsedUs = 0;
  }
  return init.limits.idleCpuMs * 1000 - idleUsedUs;
}

/** @param {number} usedUs */
function charge(usedUs) {
  if (calls.size > 0) for (const call of calls.values()) call.leftUs -= usedUs;
  else idleUsedUs += usedUs;
}

const vm = runtime.newContext();

/**
 * Runs `work` in the engine, then the promise jobs it queued, under the CPU deadline; stops the
 * plugin when it was interrupted or ran out of memory.
 * @param {() => import('quickjs-emscripten-core').VmCallResult<import('quickjs-emscripten-core').QuickJSHandle> | undefined} work
 */
function enter(work) {
  if (stopping) return;
  const inCall = calls.size > 0;
  const started = cpuNow();
  deadline = started + Math.max(0, budgetUs());
  interrupted = false;
  const failures = [];
  try {
    const result = work();
    if (result?.error) {
      failures.push(vm.dump(result.error));
      result.error.dispose();
    } else result?.value.dispose();
    const jobs = runtime.executePendingJobs(-1);
    if (jobs.error) {
      failures.push(jobs.error.context.dump(jobs.error));
      jobs.error.dispose();
    }
  } catch (error) {
    // The engine itself failed (its state cannot be trusted after that): this process ends.
    if (wasmMemory.buffer.byteLength >= maxBytes) outOfMemory();
    else engineFailed(error);
    return;
  }
  charge(cpuNow() - started);
  deadline = Number.POSITIVE_INFINITY;
  if (interrupted) {
    if (inCall) stop('time', `plugin ${init.plugin} used more than its ${init.limits.timeoutMs} ms of CPU in a call`);
    else stop('idle_cpu', `plugin ${init.plugin} used more than ${init.limits.idleCpuMs} ms of CPU in a second outside any call (a timer or a late callback)`);
    return;
  }
  for (const failure of failures) {
    if (isOutOfMemory(failure)) outOfMemory();
    else toCore({ type: 'log', level: 'error', msg: `uncaught: ${describe(failure)}`.slice(0, 4_000) });
  }
}

/** @param {unknown} error */
function engineFailed(error) {
  stopping = true;
  const message = { type: 'fatal', message: `the plugin's engine failed: ${error instanceof Error ? error.message : String(error)}` };
  if (process.connected) process.send?.(message, () => process.exit(1));
  else process.exit(1);
}

function outOfMemory() {
  stop('memory', `plugin ${init.plugin} ran out of its ${init.limits.memoryMb} MB memory budget and was stopped`);
}

/** @param {unknown} failure */
const describe = (failure) =>
  failure && typeof failure === 'object' && 'message' in failure ? `${/** @type {{ name?: string }} */ (failure).name ?? 'Error'}: ${String(failure.message)}` : String(failure);
/** @param {unknown} failure */
const isOutOfMemory = (failure) => /out of memory/i.test(describe(failure));

const live = new Map();
/** @param {{ op?: unknown, id?: unknown, ms?: unknown, repeat?: unknown }} message */
function timer(message) {
  const id = Number(message.id);
  if (message.op === 'clear') {
    clearTimeout(live.get(id));
    live.delete(id);
    return undefined;
  }
  if (live.size >= MAX_TIMERS) return `at most ${MAX_TIMERS} timers at once`;
  const ms = Math.min(Math.max(0, Number(message.ms) || 0), 2 ** 31 - 1);
  const fire = () => {
    if (!message.repeat) live.delete(id);
    deliver({ type: 'timer', id });
  };
  live.set(id, message.repeat ? setInterval(fire, Math.max(1, ms)) : setTimeout(fire, ms));
  return undefined;
}

let requestsInFlight = 0;
/** Request ids of the plugin's, waiting for the core (only these answers go back in). */
const requests = new Set();

/**
 * A message from the plugin (prelude.js); what it returns goes back to the plugin at once.
 * @param {string} text
 * @returns {string | undefined}
 */
function fromPlugin(text) {
  // An interrupted plugin's last words (its call failing with "interrupted") are not passed on.
  if (interrupted || stopping) return 'stopped';
  if (text.length > MAX_MESSAGE_CHARS) {
    stop('output', `plugin ${init.plugin} sent a message of ${text.length} characters, over the ${MAX_MESSAGE_CHARS} limit`);
    return 'stopped';
  }
  let message;
  try {
    message = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (!message || typeof message !== 'object') return 'not a message';
  switch (message.type) {
    case 'timer':
      return timer(message);
    case 'random':
      return randomBytes(Math.min(Math.max(0, Number(message.bytes) || 0), 65_536)).toString('hex');
    case 'service':
      if (requestsInFlight >= MAX_REQUESTS_IN_FLIGHT) return `at most ${MAX_REQUESTS_IN_FLIGHT} fetches, pushes and data requests at once`;
      requestsInFlight += 1;
      requests.add(message.id);
      toCore(message);
      return undefined;
    case 'result':
    case 'error':
      if (text.length > init.limits.maxOutputChars) {
        stop('output', `plugin ${init.plugin} returned ${text.length} characters, over its ${init.limits.maxOutputChars} limit`);
        return 'stopped';
      }
      if (message.type === 'error' && isOutOfMemory(message.message)) {
        outOfMemory();
        return 'stopped';
      }
      calls.delete(String(message.id));
      toCore(message);
      return undefined;
    default:
      toCore(message);
      return undefined;
  }
}

/** The plugin's message function, the only way out of the engine. */
const sendHandle = vm.newFunction('send', (handle) => {
  const answer = fromPlugin(vm.typeof(handle) === 'string' ? vm.getString(handle) : '');
  return answer === undefined ? undefined : vm.newString(answer);
});

const preludeResult = vm.evalCode(PRELUDE, 'hearth:prelude.js');
const preludeFn = vm.unwrapResult(preludeResult);
const initHandle = vm.newString(JSON.stringify({ plugin: init.plugin, entry: init.entry, secrets: init.secrets, data: init.data }));
const api = vm.unwrapResult(vm.callFunction(preludeFn, vm.undefined, sendHandle, initHandle));
const receive = vm.getProp(api, 'receive');
const load = vm.getProp(api, 'load');
for (const handle of [preludeFn, initHandle, sendHandle]) handle.dispose();

/** @param {Record<string, unknown>} message */
function deliver(message) {
  enter(() => {
    const arg = vm.newString(JSON.stringify(message));
    const result = vm.callFunction(receive, vm.undefined, arg);
    arg.dispose();
    return result;
  });
}

// Modules: only the plugin's own files, by paths relative to the importing one.
const REFUSED = 'hearth:refused:';
runtime.setModuleLoader(
  (name) => {
    if (name.startsWith(REFUSED)) {
      return { error: new Error(`import of ${name.slice(REFUSED.length)} is not allowed in a plugin: only its own .js and .mjs files can be imported (no node: modules, no packages)`) };
    }
    const source = init.files[name];
    return source === undefined ? { error: new Error(`no module ${name} in the plugin`) } : source;
  },
  (base, requested) => {
    const resolved = resolveModule(base, requested);
    if (resolved) return resolved;
    toCore({ type: 'violation', what: 'import', detail: `import of ${JSON.stringify(requested.slice(0, 200))} refused: a plugin can import only its own .js and .mjs files` });
    return `${REFUSED}${requested.slice(0, 200)}`;
  },
);

/** `./x.mjs` from `lib/a.mjs` is `lib/x.mjs`; a bare name, `node:*`, or a path out of the plugin is undefined. */
function resolveModule(/** @type {string} */ base, /** @type {string} */ requested) {
  if (!requested.startsWith('./') && !requested.startsWith('../')) return undefined;
  const parts = base.split('/').slice(0, -1);
  for (const part of requested.split('/')) {
    if (part === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else if (part !== '.' && part !== '') parts.push(part);
  }
  const path = parts.join('/');
  return Object.hasOwn(init.files, path) ? path : undefined;
}

process.on('message', (/** @type {{ type?: string, id?: unknown, [key: string]: unknown }} */ message) => {
  if (message.type === 'call') {
    calls.set(String(message.id), { leftUs: init.limits.timeoutMs * 1000 });
    deliver(message);
  } else if (message.type === 'service_result' && requests.delete(message.id)) {
    requestsInFlight -= 1;
    deliver(message);
  }
});

// The module is loaded as a "call" of its own, under the start budget.
calls.set('load', { leftUs: init.limits.startTimeoutMs * 1000 });
enter(() => {
  const imported = vm.evalCode(`import(${JSON.stringify(`./${init.entry}`)})`, 'hearth:load.js');
  if (imported.error) return imported;
  const result = vm.callFunction(load, vm.undefined, imported.value);
  imported.value.dispose();
  return result;
});
calls.delete('load');
