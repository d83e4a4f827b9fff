// Evaluated inside the QuickJS sandbox before the plugin's own code (see host.mjs), as an
// expression: a function the host calls once with its message function and the plugin's init.
// Nothing here is trusted by the host: every message it sends is checked there and in the core.
// The plugin can tamper with this code's objects after it runs; that only breaks its own calls.
//
// What a plugin gets: the ECMAScript built-ins, console, setTimeout/setInterval/clear*,
// crypto.getRandomValues/randomUUID, and in each handler's `ctx`: fetch (made by the core, to
// declared hosts only), push, log, data (when granted), secrets (declared ones only),
// conversationId, senderId, trigger. No Node APIs, no file system, no sockets.
(function prelude(send, initText) {
  const stringify = JSON.stringify;
  const parse = JSON.parse;
  const freeze = Object.freeze;
  const init = parse(initText);
  const plugin = init.plugin;
  const secrets = freeze(Object.assign(Object.create(null), init.secrets));

  /** A message to the host; its answer (a string) when the host gives one at once. */
  const post = (message) => send(stringify(message));
  const messageOf = (error) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

  const text = (part) => {
    if (typeof part === 'string') return part;
    try {
      return stringify(part) ?? String(part);
    } catch {
      return String(part);
    }
  };
  const log = (level, parts) => post({ type: 'log', level, msg: parts.map(text).join(' ').slice(0, 4_000) });
  globalThis.console = freeze({
    log: (...parts) => log('info', parts),
    info: (...parts) => log('info', parts),
    debug: (...parts) => log('debug', parts),
    warn: (...parts) => log('warn', parts),
    error: (...parts) => log('error', parts),
  });

  // Timers are the host's: it runs them, and charges the time they take to the plugin.
  const timers = new Map();
  let nextTimer = 1;
  const setTimer = (fn, ms, args, repeat) => {
    if (typeof fn !== 'function') throw new TypeError('a timer needs a function (strings are not evaluated)');
    const id = nextTimer++;
    const refused = post({ type: 'timer', op: 'set', id, ms: Math.max(0, Number(ms) || 0), repeat });
    if (refused) throw new RangeError(refused);
    timers.set(id, { fn, args, repeat });
    return id;
  };
  const clearTimer = (id) => {
    if (timers.delete(id)) post({ type: 'timer', op: 'clear', id });
  };
  globalThis.setTimeout = (fn, ms, ...args) => setTimer(fn, ms, args, false);
  globalThis.setInterval = (fn, ms, ...args) => setTimer(fn, ms, args, true);
  globalThis.clearTimeout = clearTimer;
  globalThis.clearInterval = clearTimer;

  const randomBytes = (count) => {
    const hex = post({ type: 'random', bytes: count });
    const bytes = [];
    for (let i = 0; i < count; i++) bytes.push(Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16));
    return bytes;
  };
  globalThis.crypto = freeze({
    getRandomValues(array) {
      if (!ArrayBuffer.isView(array) || array.byteLength > 65_536) throw new TypeError('getRandomValues takes an integer typed array of at most 65536 bytes');
      const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
      bytes.set(randomBytes(array.byteLength));
      return array;
    },
    randomUUID() {
      const b = randomBytes(16);
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      const hex = b.map((n) => n.toString(16).padStart(2, '0')).join('');
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    },
  });

  // Requests to the host (fetch, push, data) waiting for the core's answer, by id.
  const waiting = new Map();
  let nextService = 1;
  const service = (call, name, request) =>
    new Promise((resolve, reject) => {
      const id = nextService++;
      const refused = post({ type: 'service', id, call, service: name, request });
      if (refused) reject(new Error(refused));
      else waiting.set(id, { resolve, reject });
    });

  const response = (answer) =>
    freeze({
      ok: answer.status >= 200 && answer.status < 300,
      status: answer.status,
      headers: freeze({ ...answer.headers }),
      text: async () => answer.body,
      json: async () => parse(answer.body),
    });

  const storage = (call) =>
    freeze({
      get: async (key) => {
        const value = await service(call, 'data', { op: 'get', key: String(key) });
        return value === null ? undefined : parse(value);
      },
      put: async (key, value) => {
        const json = stringify(value);
        if (json === undefined) throw new TypeError('ctx.data.put needs a JSON value');
        await service(call, 'data', { op: 'put', key: String(key), value: json });
      },
      delete: (key) => service(call, 'data', { op: 'delete', key: String(key) }),
      list: async (options = {}) => {
        const rows = await service(call, 'data', { op: 'list', prefix: String(options.prefix ?? ''), limit: Number(options.limit ?? 1_000) });
        return rows.map((row) => ({ key: row.key, value: parse(row.value) }));
      },
    });

  const logger = freeze({
    debug: (msg, fields) => log('debug', fields === undefined ? [msg] : [msg, fields]),
    info: (msg, fields) => log('info', fields === undefined ? [msg] : [msg, fields]),
    warn: (msg, fields) => log('warn', fields === undefined ? [msg] : [msg, fields]),
    error: (msg, fields) => log('error', fields === undefined ? [msg] : [msg, fields]),
  });

  /** What a handler gets besides its arguments; `call` ties its requests to the call. */
  const contextFor = (call, context) => {
    const conversationId = context.conversationId ?? null;
    return freeze({
      plugin,
      secrets,
      conversationId,
      senderId: context.senderId ?? null,
      trigger: context.trigger ?? null,
      fetch: async (url, options = {}) => {
        const headers = {};
        for (const [name, value] of Object.entries(options.headers ?? {})) headers[String(name)] = String(value);
        const request = { url: String(url), method: String(options.method ?? 'GET').toUpperCase(), headers, body: options.body == null ? null : String(options.body) };
        return response(await service(call, 'fetch', request));
      },
      push: (push) => service(call, 'push', { text: String(push.text), conversationId: push.conversationId ?? conversationId, id: push.id ?? null }),
      log: logger,
      data: init.data ? storage(call) : undefined,
    });
  };

  const handlers = { commands: Object.create(null), tools: Object.create(null), schedules: Object.create(null) };
  const KIND = { command: 'commands', tool: 'tools', schedule: 'schedules' };

  const register = (module) => {
    const exported = module.default;
    if (!exported || typeof exported !== 'object') throw new Error('the handler module must default-export an object { commands?, tools?, schedules? }');
    for (const kind of ['commands', 'tools', 'schedules']) {
      const group = exported[kind] ?? {};
      if (typeof group !== 'object') throw new Error(`${kind} must be an object of async functions`);
      for (const [name, fn] of Object.entries(group)) {
        if (typeof fn !== 'function') throw new Error(`${kind}.${name} must be a function`);
        handlers[kind][name] = fn;
      }
    }
  };

  const settle = (id, work) =>
    work.then(
      (value) => {
        try {
          post({ type: 'result', id, value: value === undefined ? null : value });
        } catch (error) {
          post({ type: 'error', id, message: `the result is not JSON: ${messageOf(error)}` });
        }
      },
      (error) => post({ type: 'error', id, message: messageOf(error).slice(0, 2_000) }),
    );

  const call = (message) => {
    const handler = handlers[KIND[message.kind]]?.[message.name];
    if (!handler) {
      post({ type: 'error', id: message.id, message: `no ${message.kind} named ${message.name} in the handler module` });
      return;
    }
    settle(
      message.id,
      new Promise((resolve) => resolve(handler(message.args, contextFor(message.id, message.context ?? {})))),
    );
  };

  const fire = (id) => {
    const timer = timers.get(id);
    if (!timer) return;
    if (!timer.repeat) timers.delete(id);
    try {
      const result = timer.fn(...timer.args);
      if (result && typeof result.then === 'function') result.then(undefined, (error) => log('error', [`unhandled rejection in a timer: ${messageOf(error)}`]));
    } catch (error) {
      // As in a browser or a worker: an error in a timer is reported, the plugin goes on.
      log('error', [`uncaught error in a timer: ${messageOf(error)}`]);
    }
  };

  const receive = (messageText) => {
    const message = parse(messageText);
    if (message.type === 'call') call(message);
    else if (message.type === 'timer') fire(message.id);
    else if (message.type === 'service_result') {
      const pending = waiting.get(message.id);
      if (!pending) return;
      waiting.delete(message.id);
      if (message.ok) pending.resolve(message.value);
      else pending.reject(new Error(String(message.error)));
    }
  };

  const load = (imported) =>
    imported.then(
      (module) => {
        try {
          register(module);
        } catch (error) {
          post({ type: 'fatal', message: messageOf(error) });
          return;
        }
        post({ type: 'ready', commands: Object.keys(handlers.commands), tools: Object.keys(handlers.tools), schedules: Object.keys(handlers.schedules) });
      },
      (error) => post({ type: 'fatal', message: `could not load ${init.entry}: ${messageOf(error)}` }),
    );

  return { receive, load };
});
