// @ts-check
/**
 * The entry point of a plugin child: `node <sandbox flags> --import lockdown.mjs runner.mjs
 * <handler> <dataDir> <name>`. It imports the plugin's handler module, whose default export is
 * `{ commands?, tools?, schedules? }`, each a map of async functions `(args, ctx) => result`, and
 * answers the host's `call` messages over the IPC channel. Everything the plugin may do outside
 * its folders goes through `ctx` and is asked of the host, which decides:
 *
 * - `ctx.fetch(url, init?)`: performed by the host, only to the hosts the manifest declares;
 * - `ctx.push({ text, conversationId?, id? })`: a message to a user who has used this plugin;
 * - `ctx.log.info|warn|error(message, fields?)`: into the core's log;
 * - `ctx.dataDir`, `ctx.secrets` (only the declared ones), `ctx.conversationId`, `ctx.senderId`;
 * - `ctx.trigger`: what caused the call (`message:<id>`, `schedule:<name>:<time>`), the same
 *   when the same message is worked again, so a plugin can make a retried call idempotent.
 *
 * Nothing here is trusted by the host: it validates every message it gets.
 */
import { pathToFileURL } from 'node:url';

const [handlerPath, dataDir, pluginName] = process.argv.slice(2);
if (!process.send || !handlerPath || !pluginName) {
  process.stderr.write('runner.mjs is started by the Hearth core, not by hand\n');
  process.exit(2);
}
const send = process.send.bind(process);

/** @param {unknown} error */
const messageOf = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** Requests to the host waiting for their answer, by id. */
/** @type {Map<number, { resolve: (value: unknown) => void, reject: (error: Error) => void }>} */
const waiting = new Map();
let nextId = 1;

/**
 * @param {'fetch' | 'push'} service
 * @param {string | null} call
 * @param {unknown} request
 * @returns {Promise<unknown>}
 */
function ask(service, call, request) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    send({ type: 'service', id, call, service, request });
  });
}

/** @param {'debug' | 'info' | 'warn' | 'error'} level @param {unknown[]} parts */
function log(level, parts) {
  const msg = parts.map((part) => (typeof part === 'string' ? part : safeJson(part))).join(' ');
  send({ type: 'log', level, msg: msg.slice(0, 4_000) });
}
/** @param {unknown} value */
function safeJson(value) {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

// stdout is not kept by the host; console output goes to the core's log instead.
console.log = (...parts) => log('info', parts);
console.info = (...parts) => log('info', parts);
console.debug = (...parts) => log('debug', parts);
console.warn = (...parts) => log('warn', parts);
console.error = (...parts) => log('error', parts);

const secrets = Object.freeze({ ...process.env });

/**
 * What a handler gets besides its arguments.
 * @param {string | null} call
 * @param {{ conversationId?: string | null, senderId?: string | null, trigger?: string }} context
 */
function contextFor(call, context) {
  const conversationId = context.conversationId ?? null;
  return Object.freeze({
    plugin: pluginName,
    dataDir,
    secrets,
    conversationId,
    senderId: context.senderId ?? null,
    trigger: context.trigger ?? null,
    /** @param {string} url @param {{ method?: string, headers?: Record<string, string>, body?: string }} [init] */
    fetch: async (url, init = {}) => {
      const answer = /** @type {{ status: number, headers: Record<string, string>, body: string }} */ (
        await ask('fetch', call, { url: String(url), method: init.method ?? 'GET', headers: init.headers ?? {}, body: init.body ?? null })
      );
      return {
        ok: answer.status >= 200 && answer.status < 300,
        status: answer.status,
        headers: answer.headers,
        text: async () => answer.body,
        json: async () => JSON.parse(answer.body),
      };
    },
    /** @param {{ text: string, conversationId?: string, id?: string }} push */
    push: (push) => ask('push', call, { text: push.text, conversationId: push.conversationId ?? conversationId, id: push.id ?? null }),
    log: Object.freeze({
      /** @param {string} msg @param {unknown} [fields] */
      debug: (msg, fields) => log('debug', fields === undefined ? [msg] : [msg, fields]),
      /** @param {string} msg @param {unknown} [fields] */
      info: (msg, fields) => log('info', fields === undefined ? [msg] : [msg, fields]),
      /** @param {string} msg @param {unknown} [fields] */
      warn: (msg, fields) => log('warn', fields === undefined ? [msg] : [msg, fields]),
      /** @param {string} msg @param {unknown} [fields] */
      error: (msg, fields) => log('error', fields === undefined ? [msg] : [msg, fields]),
    }),
  });
}

process.on('uncaughtException', (error) => {
  send({ type: 'fatal', message: messageOf(error) });
  process.exit(1);
});
process.on('unhandledRejection', (error) => log('error', [`unhandled rejection: ${messageOf(error)}`]));

/** @type {Record<'commands' | 'tools' | 'schedules', Record<string, Function>>} */
const handlers = { commands: {}, tools: {}, schedules: {} };
try {
  const loaded = await import(pathToFileURL(handlerPath).href);
  const plugin = loaded.default;
  if (!plugin || typeof plugin !== 'object') throw new Error('the handler module must default-export an object { commands?, tools?, schedules? }');
  for (const kind of /** @type {const} */ (['commands', 'tools', 'schedules'])) {
    const group = plugin[kind] ?? {};
    if (typeof group !== 'object') throw new Error(`${kind} must be an object of async functions`);
    for (const [name, fn] of Object.entries(group)) {
      if (typeof fn !== 'function') throw new Error(`${kind}.${name} must be a function`);
      handlers[kind][name] = fn;
    }
  }
} catch (error) {
  send({ type: 'fatal', message: `could not load ${handlerPath}: ${messageOf(error)}` });
  process.exit(1);
}

const KIND = /** @type {const} */ ({ command: 'commands', tool: 'tools', schedule: 'schedules' });

process.on('message', async (/** @type {unknown} */ raw) => {
  if (!raw || typeof raw !== 'object') return;
  // The host's messages (HostMessage in src/plugins/ipc.ts); the host is trusted, its shape known.
  const message = /** @type {{ type: string, id: string | number, ok?: boolean, value?: unknown, error?: unknown, kind?: string, name: string, args?: unknown, context?: { conversationId?: string | null, senderId?: string | null, trigger?: string } }} */ (raw);
  if (message.type === 'service_result') {
    const pending = waiting.get(Number(message.id));
    if (!pending) return;
    waiting.delete(Number(message.id));
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new Error(String(message.error)));
    return;
  }
  if (message.type !== 'call') return;
  const kind = KIND[/** @type {keyof typeof KIND} */ (message.kind)];
  const handler = kind && handlers[kind][message.name];
  if (!handler) {
    send({ type: 'error', id: message.id, message: `no ${message.kind} named ${message.name} in the handler module` });
    return;
  }
  try {
    const value = await handler(message.args, contextFor(String(message.id), message.context ?? {}));
    send({ type: 'result', id: message.id, value: value === undefined ? null : value });
  } catch (error) {
    send({ type: 'error', id: message.id, message: messageOf(error).slice(0, 2_000) });
  }
});

send({
  type: 'ready',
  commands: Object.keys(handlers.commands),
  tools: Object.keys(handlers.tools),
  schedules: Object.keys(handlers.schedules),
});
