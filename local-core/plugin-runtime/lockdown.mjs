// @ts-check
/**
 * Loaded with `--import` into every plugin child before any plugin code, under Node's permission
 * model (which already denies file access outside the plugin's folders, child processes, worker
 * threads, WASI, inspector, native addons and process.binding). What the permission model of
 * Node 20 does not cover is the network, and a few process methods; this file closes those:
 *
 * - the socket-opening built-ins are neutered in place: every export of node:net, node:http and
 *   the rest is replaced by a function that refuses (and reports). import, require, createRequire
 *   and process.getBuiltinModule all hand out the same exports object, so one change covers all
 *   of them (module.register hooks would need a worker thread, which the child may not start);
 * - the prototypes of the socket classes are neutered too, for any instance made before;
 * - fetch, WebSocket and EventSource are replaced by a refusal that points at ctx.fetch;
 * - process.kill (of any other process: the core is one signal away), process._debugProcess
 *   (it would open the core's inspector) and module.register are refused.
 *
 * Each refusal is sent to the host as a `violation` message, so an attempt is reported even when
 * the plugin swallows the error. Denials of the permission model itself (ERR_ACCESS_DENIED from
 * node:fs) are reported the same way by wrapping node:fs.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
// Our own reference, taken before plugin code can replace process.send.
const sendToHost = typeof process.send === 'function' ? process.send.bind(process) : undefined;

/** @param {string} what @param {string} detail */
function report(what, detail) {
  try {
    sendToHost?.({ type: 'violation', what, detail: detail.slice(0, 500) });
  } catch {
    // The channel is gone: the host sees the child exit instead.
  }
}

class PluginPermissionError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'PluginPermissionError';
    this.code = 'ERR_PLUGIN_PERMISSION';
  }
}

/** @param {string} what @param {string} advice */
function refusal(what, advice) {
  const refuse = () => {
    report(what, `${what} is not allowed in a plugin`);
    throw new PluginPermissionError(`${what} is not allowed in a plugin: ${advice}`);
  };
  // Called, constructed (`new net.Socket()`) or its prototype read (a way to a class's parents):
  // refused and reported alike.
  return new Proxy(function refused() {}, {
    apply: refuse,
    construct: refuse,
    get: (target, key) => (key === 'prototype' ? refuse() : Reflect.get(target, key)),
  });
}

// Stdio streams are made now, with the real classes, before those classes are neutered below
// (the host gives files, not pipes, so these are not sockets).
void process.stdout;
void process.stderr;

const NETWORK_ADVICE = 'use ctx.fetch, which reaches the hosts your plugin.json declares in permissions.network';
const DENIED = {
  net: NETWORK_ADVICE,
  tls: NETWORK_ADVICE,
  http: NETWORK_ADVICE,
  https: NETWORK_ADVICE,
  http2: NETWORK_ADVICE,
  dgram: NETWORK_ADVICE,
  dns: NETWORK_ADVICE,
  'dns/promises': NETWORK_ADVICE,
  _http_agent: NETWORK_ADVICE,
  _http_client: NETWORK_ADVICE,
  _http_common: NETWORK_ADVICE,
  _http_incoming: NETWORK_ADVICE,
  _http_outgoing: NETWORK_ADVICE,
  _http_server: NETWORK_ADVICE,
  _tls_common: NETWORK_ADVICE,
  _tls_wrap: NETWORK_ADVICE,
  // Both hold subclasses of net.Socket: a way back to the socket class, and through it to a handle.
  _stream_wrap: NETWORK_ADVICE,
  tty: 'plugins have no terminal',
  child_process: 'plugins cannot start processes',
  cluster: 'plugins cannot start processes',
  worker_threads: 'plugins cannot start threads',
  inspector: 'plugins cannot open the inspector',
  'inspector/promises': 'plugins cannot open the inspector',
  wasi: 'WASI is not available to plugins',
  v8: 'plugins cannot change V8 flags or write heap snapshots',
  repl: 'plugins have no REPL',
  trace_events: 'plugins cannot write trace files',
};

// The socket classes' methods, for instances that exist or are made through a kept reference.
const net = require('node:net');
const dgram = require('node:dgram');
for (const [proto, names, what] of /** @type {const} */ ([
  [net.Socket.prototype, ['connect'], 'net.Socket#connect'],
  [net.Server.prototype, ['listen'], 'net.Server#listen'],
  [dgram.Socket.prototype, ['bind', 'send', 'connect'], 'dgram.Socket'],
])) {
  for (const name of names) Object.defineProperty(proto, name, { value: refusal(`node:${what}`, NETWORK_ADVICE), writable: false, configurable: false });
}

// All loaded first, then neutered: some build on others as they load (inspector/promises on inspector).
/** Harmless functions some built-ins use and plugins may call. */
/** @type {Record<string, string[]>} */
const KEEP = { tty: ['isatty'] };
/** @type {[string, string, Record<string, unknown>][]} */
const denied = Object.entries(DENIED).map(([name, advice]) => [name, advice, require(`node:${name}`)]);
for (const [name, advice, exports] of denied) {
  for (const key of Object.getOwnPropertyNames(exports)) {
    // A few are fixed by Node (tls.rootCertificates, a list of strings): nothing to refuse there.
    if (Object.getOwnPropertyDescriptor(exports, key)?.configurable === false) continue;
    if (KEEP[name]?.includes(key)) continue;
    Object.defineProperty(exports, key, { value: refusal(`node:${name}`, advice), writable: false, configurable: false, enumerable: true });
  }
  Object.freeze(exports);
}

// Permission-model denials of node:fs, reported as they happen (sync, callback and promise forms).
const fs = require('node:fs');
/** @param {unknown} error @param {string} fn @param {unknown} path */
function noteDenied(error, fn, path) {
  if (error && typeof error === 'object' && 'code' in error && error.code === 'ERR_ACCESS_DENIED') {
    report('fs', `fs.${fn}(${typeof path === 'string' ? JSON.stringify(path) : String(path)}) denied: outside the plugin's folders`);
  }
}
/** @param {Record<string, unknown>} target @param {string} prefix */
function wrapFs(target, prefix) {
  for (const key of Object.getOwnPropertyNames(target)) {
    const original = target[key];
    if (typeof original !== 'function' || /^[A-Z]/.test(key) || key === 'promises') continue;
    /** @this {unknown} @param {unknown[]} args */
    const wrapped = function (...args) {
      const last = args.at(-1);
      if (typeof last === 'function') {
        args[args.length - 1] = (/** @type {unknown} */ error, /** @type {unknown[]} */ ...rest) => {
          noteDenied(error, `${prefix}${key}`, args[0]);
          return last(error, ...rest);
        };
      }
      try {
        const result = original.apply(this, args);
        if (result instanceof Promise) return result.catch((error) => {
          noteDenied(error, `${prefix}${key}`, args[0]);
          throw error;
        });
        return result;
      } catch (error) {
        noteDenied(error, `${prefix}${key}`, args[0]);
        throw error;
      }
    };
    // Properties such as realpath.native and the promisify.custom of exists come along.
    for (const own of Reflect.ownKeys(original)) {
      if (!(own in wrapped)) Object.defineProperty(wrapped, own, /** @type {PropertyDescriptor} */ (Object.getOwnPropertyDescriptor(original, own)));
    }
    Object.defineProperty(target, key, { value: wrapped, writable: true, configurable: true, enumerable: true });
  }
}
wrapFs(fs, '');
wrapFs(fs.promises, 'promises.');

const fetchRefusal = refusal('fetch', NETWORK_ADVICE);
for (const name of ['fetch', 'WebSocket', 'EventSource']) {
  Object.defineProperty(globalThis, name, { value: fetchRefusal, writable: false, configurable: false });
}

const ownPid = process.pid;
const kill = process.kill.bind(process);
Object.defineProperty(process, 'kill', {
  /** @param {number} pid @param {string | number} [signal] */
  value: (pid, signal) => {
    // Not 0 or negative either: those signal the process group, which the core may share.
    if (pid === ownPid) return kill(ownPid, signal);
    report('process.kill', `signal to process ${pid}`);
    throw new PluginPermissionError('process.kill is not allowed in a plugin: it may signal only itself');
  },
  writable: false,
  configurable: false,
});
for (const name of ['_kill', '_debugProcess', '_debugEnd', 'binding', '_linkedBinding', 'dlopen']) {
  if (name in process) Object.defineProperty(process, name, { value: refusal(`process.${name}`, 'not available to plugins'), writable: false, configurable: false });
}
const moduleExports = require('node:module');
Object.defineProperty(moduleExports, 'register', { value: refusal('module.register', 'plugins cannot add loader hooks'), writable: false, configurable: false });

syncBuiltinESMExports();
