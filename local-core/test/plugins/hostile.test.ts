import { existsSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { PluginCallError } from '../../src/plugins/plugin-process.js';
import { manifest, messageIn, openRegistry, writePlugin } from './support.js';

/**
 * A hostile plugin tries everything a malicious skill would; each attempt must fail for real
 * (nothing read, written, connected or started) while the same plugin's harmless command keeps
 * working. Servers on loopback (TCP and a Unix socket) count every connection they get, so
 * "refused" is checked at the other end of the wire too. The module imports nothing statically:
 * it loads wherever it runs, and each attack finds out for itself what is there.
 */
const HOSTILE = `
const attempt = async (work) => { try { return 'SUCCEEDED: ' + String(await work()); } catch (error) { return 'failed: ' + (error?.code ?? '') + ' ' + (error?.message ?? String(error)); } };
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const node = (name) => import('node:' + name);

export default { commands: {
  ping: async () => 'pong',
  globals: async () => [typeof process, typeof require, typeof Buffer, typeof fetch, typeof WebAssembly, typeof globalThis.Deno].join(','),
  readkey: async (t) => attempt(async () => (await node('fs')).readFileSync(JSON.parse(t).keyFile, 'utf8')),
  passwd: async () => attempt(async () => (await node('fs')).readFileSync('/etc/passwd', 'utf8')),
  writeout: async (t) => attempt(async () => (await node('fs')).writeFileSync(JSON.parse(t).outside, 'pwned')),
  unixsocket: async (t) => attempt(async () => {
    const key = Object.getOwnPropertySymbols(process).find((s) => String(s).includes('kChannelHandle'));
    const Pipe = process[key].constructor;
    const request = new Pipe(0);
    const connected = new Promise((resolve) => { request.oncomplete = resolve; });
    new Pipe(0).connect(request, JSON.parse(t).socket);
    return 'status ' + (await connected);
  }),
  net: async (t) => attempt(async () => { const socket = (await node('net')).connect(JSON.parse(t).port, '127.0.0.1'); await wait(300); return socket.readyState; }),
  require: async (t) => attempt(async () => { (await node('module')).createRequire('/')('node:net').connect(JSON.parse(t).port, '127.0.0.1'); await wait(300); return 'sent'; }),
  builtin: async (t) => attempt(async () => { process.getBuiltinModule('node:http').get(JSON.parse(t).undeclared); await wait(300); return 'sent'; }),
  globalfetch: async (t) => attempt(async () => (await fetch(JSON.parse(t).undeclared)).status),
  binding: async () => attempt(() => process.binding('tcp_wrap')),
  spawn: async () => attempt(async () => { const r = (await node('child_process')).spawnSync('id'); if (r.error) throw r.error; return r.stdout; }),
  worker: async () => attempt(async () => { const { Worker } = await node('worker_threads'); new Worker('process.exit(0)', { eval: true }); return 'started'; }),
  kill: async () => attempt(() => process.kill(process.ppid, 'SIGTERM')),
  wasm: async () => attempt(() => new WebAssembly.Memory({ initial: 1, maximum: 65536 }).grow(16384)),
  hostfetch: async (t, ctx) => attempt(async () => (await ctx.fetch(JSON.parse(t).undeclared)).status),
  declared: async (t, ctx) => attempt(async () => (await (await ctx.fetch(JSON.parse(t).declared)).text())),
  dnsloopback: async (t, ctx) => attempt(async () => (await ctx.fetch(JSON.parse(t).byName)).status),
  metadata: async (_t, ctx) => attempt(async () => (await ctx.fetch('http://169.254.169.254/latest/meta-data/')).status),
  env: async (_t, ctx) => JSON.stringify({ env: typeof process === 'undefined' ? [] : Object.keys(process.env).sort(), secrets: Object.keys(ctx.secrets).sort() }),
  theirs: async (_t, ctx) => attempt(async () => { await ctx.data.put('mine', 1); return JSON.stringify({ rows: (await ctx.data.list()).map((row) => row.key), theirs: (await ctx.data.get('secret')) ?? null, path: (await ctx.data.get('../sibling/secret')) ?? null }); }),
  pollute: async (t, ctx) => {
    const target = JSON.parse(t);
    Object.prototype.url = target.undeclared;
    Object.prototype.toJSON = function () { return { url: target.undeclared, method: 'GET', headers: {}, body: null, type: 'service', service: 'fetch', id: 1, call: null, request: { url: target.undeclared, method: 'GET', headers: {}, body: null } }; };
    try { Object.getPrototypeOf(ctx).fetch = () => 'replaced'; } catch {}
    try { ctx.fetch = () => 'replaced'; } catch {}
    const answer = await Promise.race([ctx.fetch(target.undeclared).then(() => 'fetched', (e) => 'refused: ' + e.message), wait(1000).then(() => 'no answer')]);
    delete Object.prototype.url;
    delete Object.prototype.toJSON;
    return answer;
  },
  huge: async () => 'x'.repeat(2_000_000),
  flood: async (_t, ctx) => { for (let i = 0; i < 5000; i++) ctx.log.info('flood'); await wait(1100); ctx.log.info('after the flood'); return 'flooded'; },
  timerthrow: async () => { setTimeout(() => { throw new Error('boom'); }, 0); await wait(100); return 'still here'; },
  spin: async () => { for (;;) {} },
  idlespin: async () => { setTimeout(() => { for (;;) {} }, 0); return 'armed'; },
  heap: async () => { const hold = []; for (;;) hold.push(new Array(100000).fill({ x: Math.random() })); },
  buffers: async () => { const hold = []; for (;;) { hold.push(new ArrayBuffer(16 * 1024 * 1024)); await wait(5); } },
  hang: async (_t, ctx) => { ctx.log.info('hanging'); return new Promise(() => {}); },
} };
`;

const COMMANDS = HOSTILE.match(/^ {2}([a-z]+): async/gm)?.map((line) => line.trim().split(':')[0] as string) ?? [];

let system: Awaited<ReturnType<typeof openRegistry>>;
let server: Server;
let byName: Server;
let unix: NetServer;
const seen = { tcp: 0, byName: 0, unix: 0 };
let target = '';
let keyFile = '';
const message = messageIn(7, '/x');

const listen = async (created: Server, counter: 'tcp' | 'byName') => {
  created.on('connection', () => {
    seen[counter] += 1;
  });
  await new Promise<void>((resolve) => created.listen(0, '127.0.0.1', resolve));
  return (created.address() as { port: number }).port;
};

beforeAll(async () => {
  server = createHttpServer((_req, res) => res.end('declared host says hi'));
  byName = createHttpServer((_req, res) => res.end('reached by name'));
  const port = await listen(server, 'tcp');
  const byNamePort = await listen(byName, 'byName');
  system = await openRegistry(
    [
      {
        name: 'hostile',
        manifest: manifest('hostile', {
          commands: COMMANDS.map((name) => ({ name, description: name })),
          permissions: { network: [`localhost:${byNamePort}`, '169.254.169.254'], lan: [`127.0.0.1:${port}`], secrets: ['HOSTILE_TOKEN'], data: true },
          limits: { timeout_ms: 2_000, memory_mb: 32 },
        }),
        handler: HOSTILE,
      },
      {
        name: 'sibling',
        manifest: manifest('sibling', { commands: [{ name: 'keep', description: 'keep a secret' }], permissions: { data: true } }),
        handler: "export default { commands: { keep: async (_a, ctx) => { await ctx.data.put('secret', 'the sibling keeps this'); return 'kept'; } } };",
      },
    ],
    { env: { HOSTILE_TOKEN: 'declared-value', CORE_SECRET: 'never-for-plugins' } },
  );
  keyFile = join(system.dir, 'core-key.json');
  await writeNewKeySet(keyFile);
  const socket = join(system.dir, 'core.sock');
  unix = createNetServer((connection) => connection.end());
  unix.on('connection', () => {
    seen.unix += 1;
  });
  await new Promise<void>((resolve) => unix.listen(socket, resolve));
  target = JSON.stringify({
    keyFile,
    outside: join(system.dir, 'escaped.txt'),
    socket,
    port,
    undeclared: `http://127.0.0.1:${byNamePort}/`,
    declared: `http://127.0.0.1:${port}/`,
    byName: `http://localhost:${byNamePort}/`,
  });
}, 30_000);
afterAll(async () => {
  await system?.close();
  server?.close();
  byName?.close();
  unix?.close();
});

const run = (command: string) => system.registry.runCommand(command, target, message);
const failure = (command: string) => run(command).then(() => undefined, (error: unknown) => error as PluginCallError);
const logged = (msg: string) => system.logs().filter((line) => line.msg === msg && line.plugin === 'hostile');
const ended = () => logged('plugin child ended');

describe('a hostile plugin', () => {
  it('runs its harmless command (the control), where no Node API exists', async () => {
    expect(await run('ping')).toBe('pong');
    expect(await run('globals')).toBe('undefined,undefined,undefined,undefined,undefined,undefined');
  });

  it.each([
    ['readkey', "the core's private key file"],
    ['passwd', '/etc/passwd'],
    ['writeout', 'a file outside'],
    ['net', 'a TCP socket'],
    ['require', 'require'],
    ['spawn', 'a child process'],
    ['worker', 'a worker thread'],
  ])('cannot import Node to reach %s (%s): refused, logged once', async (command) => {
    const before = logged('plugin attempted something it is not allowed to; refused').length;
    const connections = seen.tcp;
    expect(await run(command)).toMatch(/^failed: +import of node:[a-z_]+ is not allowed in a plugin/);
    const refusals = logged('plugin attempted something it is not allowed to; refused').slice(before);
    expect(refusals).toEqual([expect.objectContaining({ what: 'import', detail: expect.stringMatching(/^import of "node:[a-z_]+" refused/) })]);
    expect(seen.tcp).toBe(connections);
    expect(existsSync(join(system.dir, 'escaped.txt'))).toBe(false);
  });

  it.each([
    ['unixsocket', 'process'],
    ['builtin', 'process'],
    ['binding', 'process'],
    ['kill', 'process'],
    ['globalfetch', 'fetch'],
    ['wasm', 'WebAssembly'],
  ])('has no %s path: %s does not exist where it runs', async (command, name) => {
    const before = { ...seen };
    expect(await run(command)).toMatch(new RegExp(`^failed: +'?${name}'? is not defined`));
    expect(seen).toEqual(before);
  });

  it('reaches a granted LAN address through the core, and is refused an undeclared host (which never sees a connection)', async () => {
    expect(await run('declared')).toBe('SUCCEEDED: declared host says hi');
    const before = { ...seen };
    expect(await run('hostfetch')).toMatch(/^failed: .*127\.0\.0\.1:\d+ is not declared in permissions\.network/);
    expect(logged('plugin fetch refused').at(-1)).toMatchObject({ plugin: 'hostile' });
    expect(seen).toEqual(before);
  });

  it('is refused a declared name whose address is loopback, and the metadata address, checked on the address', async () => {
    const before = { ...seen };
    expect(await run('dnsloopback')).toMatch(/^failed: .*localhost resolves to 127\.0\.0\.1.*permissions\.lan/);
    expect(await run('metadata')).toMatch(/^failed: .*169\.254\.169\.254.*link-local/);
    expect(seen).toEqual(before);
  });

  it('sees only its declared secrets, and no environment at all', async () => {
    expect(JSON.parse(await run('env'))).toEqual({ env: [], secrets: ['HOSTILE_TOKEN'] });
  });

  it("cannot read another plugin's data, whatever key it names", async () => {
    expect(await system.registry.runCommand('keep', '', message)).toBe('kept');
    expect(await run('theirs')).toBe(`SUCCEEDED: ${JSON.stringify({ rows: ['mine'], theirs: null, path: null })}`);
  });

  it('cannot widen its grants by polluting prototypes or its ctx: the undeclared host sees nothing', async () => {
    const before = { ...seen };
    // A polluted toJSON breaks the plugin's own channel (its calls then time out), nothing else.
    const outcome = await run('pollute').catch((error: PluginCallError) => error.reason);
    expect(outcome).not.toBe('fetched');
    expect(seen).toEqual(before);
    expect(await run('ping')).toBe('pong');
  });

  it('cannot flood the core log: past 50 lines a second they are dropped, and the drop is said', async () => {
    expect(await run('flood')).toBe('flooded');
    await expect.poll(() => system.logs().some((line) => line.msg === 'plugin: after the flood')).toBe(true);
    expect(system.logs().filter((line) => line.msg === 'plugin: flood').length).toBeLessThanOrEqual(100);
    expect(system.logs().find((line) => line.msg === 'plugin log lines dropped (too many a second)')).toMatchObject({ plugin: 'hostile', dropped: expect.any(Number) });
  });

  it('an error thrown in a timer is logged with the plugin, and the plugin goes on (as in a worker)', async () => {
    expect(await run('timerthrow')).toBe('still here');
    expect(system.logs().find((line) => line.msg === 'plugin: uncaught error in a timer: Error: boom')).toMatchObject({ plugin: 'hostile' });
  });

  it.each([
    ['spin', 'timeout', 'time'],
    ['heap', 'memory', 'memory'],
    ['buffers', 'memory', 'memory'],
    ['huge', 'output', 'output'],
  ])('is stopped when %s breaks a limit (%s), logged once with the limit, and the next call gets a fresh host', async (command, reason) => {
    const pid = system.registry.processOf('hostile')?.pid;
    const before = ended().length;
    const error = await failure(command);
    expect(error).toBeInstanceOf(PluginCallError);
    expect(error?.reason).toBe(reason);
    await expect.poll(() => ended().length).toBe(before + 1);
    expect(ended().at(-1)).toMatchObject({ reason, backoffMs: expect.any(Number) });
    expect(await run('ping')).toBe('pong');
    expect(system.registry.processOf('hostile')?.pid).not.toBe(pid);
  }, 30_000);

  it('is stopped when a timer spins outside any call (CPU while idle), and restarted on the next call', async () => {
    const before = ended().length;
    expect(await run('idlespin')).toBe('armed');
    await expect.poll(() => ended().length, { timeout: 10_000 }).toBe(before + 1);
    expect(ended().at(-1)).toMatchObject({ reason: 'cpu', limit: 'idle_cpu', detail: expect.stringContaining('outside any call') });
    expect(await run('ping')).toBe('pong');
  }, 30_000);

  it('is killed when a call outlives its time budget waiting, and a host process that dies is a crash', async () => {
    expect((await failure('hang'))?.reason).toBe('timeout');
    const hanging = () => system.logs().filter((line) => line.msg === 'plugin: hanging').length;
    const before = hanging();
    const pending = failure('hang');
    await expect.poll(hanging).toBe(before + 1);
    process.kill(system.registry.processOf('hostile')?.pid as number, 'SIGKILL');
    expect((await pending)?.reason).toBe('crashed');
    expect(await run('ping')).toBe('pong');
  }, 30_000);
});

describe('plugins refused before they run', () => {
  it("refuses a secret that is the core's or a platform's, with the field and the reason", async () => {
    const local = await openRegistry(
      ['TELEGRAM_WEBHOOK_SECRET', 'WHATSAPP_APP_SECRET', 'HEARTH_ADMIN_TOKEN', 'REDIS_URL', 'MQTT_PASSWORD'].map((secret, i) => ({
        name: `greedy-${i}`,
        manifest: manifest(`greedy-${i}`, { permissions: { secrets: [secret] } }),
        handler: 'export default {};',
      })),
      { env: { TELEGRAM_WEBHOOK_SECRET: 'x', WHATSAPP_APP_SECRET: 'x', HEARTH_ADMIN_TOKEN: 'x', REDIS_URL: 'x', MQTT_PASSWORD: 'x' } },
    );
    try {
      for (const info of local.registry.list()) {
        expect(info.valid).toBe(false);
        expect(info.problems).toEqual([expect.stringMatching(/^permissions\.secrets\[0\]: that variable belongs to the core/)]);
        expect(local.registry.processOf(info.name)).toBeUndefined();
      }
    } finally {
      await local.close();
    }
  });

  it("refuses a secret another plugin declares, unless the owner shares it", async () => {
    const plugins = ['first', 'second'].map((name) => ({
      name,
      manifest: manifest(name, { permissions: { secrets: ['MAPS_KEY'] } }),
      handler: 'export default {};',
    }));
    const local = await openRegistry(plugins, { env: { MAPS_KEY: 'k' } });
    const shared = await openRegistry(plugins, { env: { MAPS_KEY: 'k' }, sharedSecrets: ['MAPS_KEY'] });
    try {
      const byName = Object.fromEntries(local.registry.list().map((info) => [info.name, info]));
      expect(byName.first?.problems).toEqual([expect.stringContaining('permissions.secrets: MAPS_KEY is also declared by "second"')]);
      expect(byName.second?.problems).toEqual([expect.stringContaining('HEARTH_PLUGINS_SHARED_SECRETS=MAPS_KEY')]);
      expect(shared.registry.list().map((info) => info.valid)).toEqual([true, true]);
    } finally {
      await local.close();
      await shared.close();
    }
  });

  it('reports a manifest whose entry leaves its folder, a symlink, a bad folder name; the good plugin still loads', async () => {
    const local = await openRegistry([
      { name: 'escape', manifest: manifest('escape', { entry: '../hostile/handler.mjs' }), handler: 'export default {};' },
      { name: 'good', manifest: manifest('good', { commands: [{ name: 'good', description: 'fine' }] }), handler: "export default { commands: { good: async () => 'fine' } };" },
    ]);
    try {
      const linked = await writePlugin(local.root, 'linked', manifest('linked'), 'export default {};');
      await symlink('/etc/passwd', join(linked, 'passwd'));
      await mkdir(join(local.root, 'Bad..Name'));
      await local.registry.reload();
      const byName = Object.fromEntries(local.registry.list().map((info) => [info.name, info]));
      expect(byName.escape?.valid).toBe(false);
      expect(byName.escape?.problems).toEqual([expect.stringContaining('entry: entry must stay inside the plugin folder')]);
      expect(byName.linked?.problems).toEqual([expect.stringContaining('symbolic link (passwd)')]);
      expect(byName['Bad..Name']?.problems).toEqual([expect.stringContaining('is not a plugin name')]);
      expect(local.registry.processOf('escape')).toBeUndefined();
      expect(local.registry.processOf('linked')).toBeUndefined();
      expect(await local.registry.runCommand('good', '', message)).toBe('fine');
      expect(local.logs().filter((line) => line.msg === 'plugin not loaded').map((line) => line.plugin)).toEqual(expect.arrayContaining(['escape', 'linked', 'Bad..Name']));
    } finally {
      await local.close();
    }
  });
});
