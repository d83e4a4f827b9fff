import { existsSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import { PluginCallError } from '../../src/plugins/plugin-process.js';
import { manifest, messageIn, openRegistry, writePlugin } from './support.js';

/**
 * A hostile plugin tries everything a malicious skill would; each attempt must fail for real
 * (nothing read, written, connected or started) and be reported in the core's log. The same
 * plugin's harmless command keeps working between attempts: the core and the plugin host
 * survive all of it. A loopback HTTP server counts every connection it gets, so "refused" is
 * checked at the other end of the wire too.
 */
const HOSTILE = `
import net from 'node:net';
import http from 'node:http';
import { createRequire } from 'node:module';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import tty from 'node:tty';

const target = () => JSON.parse(readFileSync(new URL('./target.json', import.meta.url), 'utf8'));
const attempt = async (work) => { try { return 'SUCCEEDED: ' + String(await work()); } catch (error) { return 'failed: ' + (error.code ?? '') + ' ' + error.message; } };
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export default { commands: {
  ping: async () => 'pong',
  readkey: async () => attempt(() => readFileSync(target().keyFile, 'utf8')),
  passwd: async () => attempt(() => readFileSync('/etc/passwd', 'utf8')),
  sibling: async () => attempt(() => readFileSync(target().sibling, 'utf8')),
  writeout: async () => attempt(() => writeFileSync(target().outside, 'pwned')),
  writedata: async (_args, ctx) => attempt(() => { writeFileSync(ctx.dataDir + '/mine.txt', 'ok'); return readFileSync(ctx.dataDir + '/mine.txt', 'utf8'); }),
  hostfetch: async (_args, ctx) => attempt(async () => (await ctx.fetch(target().undeclared)).status),
  declared: async (_args, ctx) => attempt(async () => (await (await ctx.fetch(target().declared)).text())),
  net: async () => attempt(async () => { const socket = net.connect(target().port, '127.0.0.1'); await wait(300); return socket.readyState; }),
  http: async () => attempt(async () => { http.get(target().undeclared); await wait(300); return 'sent'; }),
  require: async () => attempt(async () => { createRequire(import.meta.url)('node:net').connect(target().port, '127.0.0.1'); await wait(300); return 'sent'; }),
  builtin: async () => attempt(async () => { process.getBuiltinModule('node:http').get(target().undeclared); await wait(300); return 'sent'; }),
  globalfetch: async () => attempt(async () => (await fetch(target().undeclared)).status),
  binding: async () => attempt(() => process.binding('tcp_wrap')),
  socketclass: async () => attempt(() => { const Socket = Object.getPrototypeOf(tty.WriteStream.prototype).constructor; return new Socket({ fd: 3 }); }),
  spawn: async () => attempt(() => { const r = spawnSync('id'); if (r.error) throw r.error; return r.stdout; }),
  kill: async () => attempt(() => process.kill(process.ppid, 'SIGTERM')),
  stdio: async () => [process.stdin, process.stdout, process.stderr].map((stream) => stream.constructor.name).join(','),
  env: async (_args, ctx) => JSON.stringify({ env: Object.keys(process.env).sort(), secrets: Object.keys(ctx.secrets).sort(), undeclared: process.env.CORE_SECRET ?? null }),
  flood: async (_args, ctx) => { for (let i = 0; i < 5000; i++) ctx.log.info('flood'); await wait(1100); ctx.log.info('after the flood'); return 'flooded'; },
  crash: async () => { setTimeout(() => { throw new Error('boom'); }, 0); await wait(5000); return 'still here'; },
  spin: async () => { for (;;) {} },
  heap: async () => { const hold = []; for (;;) hold.push(new Array(100000).fill({ x: Math.random() })); },
  buffers: async () => { const hold = []; for (;;) { hold.push(Buffer.alloc(16 * 1024 * 1024, 1)); await wait(5); } },
} };
`;

let system: Awaited<ReturnType<typeof openRegistry>>;
let server: Server;
let connections = 0;
let port = 0;
let keyFile = '';
const message = messageIn(7, '/x');

beforeAll(async () => {
  server = createServer((_req, res) => res.end('declared host says hi'));
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
  system = await openRegistry(
    [
      {
        name: 'hostile',
        manifest: manifest('hostile', {
          commands: ['ping', 'readkey', 'passwd', 'sibling', 'writeout', 'writedata', 'hostfetch', 'declared', 'net', 'http', 'require', 'builtin', 'globalfetch', 'binding', 'socketclass', 'spawn', 'kill', 'stdio', 'env', 'flood', 'crash', 'spin', 'heap', 'buffers'].map(
            (name) => ({ name, description: name }),
          ),
          permissions: { network: [`localhost:${port}`], secrets: ['HOSTILE_TOKEN'], data: true },
          limits: { timeout_ms: 2_000, memory_mb: 32 },
        }),
        handler: HOSTILE,
      },
      { name: 'sibling', manifest: manifest('sibling'), handler: 'export default {};' },
    ],
    { env: { HOSTILE_TOKEN: 'declared-value', CORE_SECRET: 'never-for-plugins' } },
  );
  keyFile = join(system.dir, 'core-key.json');
  await writeNewKeySet(keyFile);
  await writeFile(
    join(system.root, 'hostile', 'target.json'),
    JSON.stringify({
      keyFile,
      sibling: join(system.root, 'sibling', 'plugin.json'),
      outside: join(system.dir, 'escaped.txt'),
      port,
      undeclared: `http://127.0.0.1:${port}/`,
      declared: `http://localhost:${port}/`,
    }),
  );
  // The target file changed the plugin's fingerprint: load that version before the attempts.
  await system.registry.reload();
}, 30_000);
afterAll(async () => {
  await system?.close();
  server?.close();
});

const run = (command: string) => system.registry.runCommand(command, '', message);
const violations = () => system.logs().filter((line) => line.msg === 'plugin attempted something it is not allowed to; refused');

describe('a hostile plugin', () => {
  it('runs its harmless command (the control)', async () => {
    expect(await run('ping')).toBe('pong');
  });

  it.each([
    ['readkey', "the core's key file"],
    ['passwd', '/etc/passwd'],
    ['sibling', "another plugin's folder"],
  ])('cannot read %s (%s), and the attempt is logged', async (command) => {
    const before = violations().length;
    const reply = await run(command);
    expect(reply).toMatch(/^failed: ERR_ACCESS_DENIED/);
    const logged = violations().slice(before);
    expect(logged).toEqual([expect.objectContaining({ plugin: 'hostile', what: 'fs', detail: expect.stringContaining('denied') })]);
  });

  it('cannot write outside its data folder, and can inside it', async () => {
    expect(await run('writeout')).toMatch(/^failed: ERR_ACCESS_DENIED/);
    expect(existsSync(join(system.dir, 'escaped.txt'))).toBe(false);
    expect(violations().at(-1)).toMatchObject({ what: 'fs', detail: expect.stringContaining('escaped.txt') });
    expect(await run('writedata')).toBe('SUCCEEDED: ok');
  });

  it('reaches a declared host through the host, and is refused an undeclared one (which never sees a connection)', async () => {
    expect(await run('declared')).toBe('SUCCEEDED: declared host says hi');
    const seen = connections;
    expect(await run('hostfetch')).toMatch(/^failed: .*127\.0\.0\.1:\d+ is not declared in permissions\.network/);
    expect(system.logs().filter((line) => line.msg === 'plugin fetch refused').at(-1)).toMatchObject({ plugin: 'hostile' });
    expect(connections).toBe(seen);
  });

  it.each([
    ['net', 'node:net'],
    ['http', 'node:http'],
    ['require', 'node:net'],
    ['builtin', 'node:http'],
    ['globalfetch', 'fetch'],
    ['binding', 'process.binding'],
    ['socketclass', 'node:tty'],
    ['spawn', 'node:child_process'],
    ['kill', 'process.kill'],
  ])('is refused %s, and the attempt is logged as %s', async (command, what) => {
    const seen = connections;
    const reply = await run(command);
    expect(reply).toMatch(/^failed: ERR_PLUGIN_PERMISSION .* is not allowed in a plugin/);
    expect(violations().at(-1)).toMatchObject({ plugin: 'hostile', what });
    expect(connections).toBe(seen);
  });

  it('has no socket among its stdio streams (a pipe would hand it the socket class)', async () => {
    // /dev/null in, a file for stderr: fs streams, never net.Socket.
    expect((await run('stdio')).split(',')).toEqual(['ReadStream', 'SyncWriteStream', 'SyncWriteStream']);
  });

  it('sees only its declared secrets, never the rest of the core environment', async () => {
    const seen = JSON.parse(await run('env')) as { env: string[]; secrets: string[]; undeclared: string | null };
    expect(seen.secrets).toEqual(['HOSTILE_TOKEN']);
    expect(seen.env).toEqual(['HOSTILE_TOKEN']);
    expect(seen.undeclared).toBeNull();
  });

  it('cannot flood the core log: past 50 lines a second they are dropped, and the drop is said', async () => {
    expect(await run('flood')).toBe('flooded');
    await expect.poll(() => system.logs().some((line) => line.msg === 'plugin: after the flood')).toBe(true);
    expect(system.logs().filter((line) => line.msg === 'plugin: flood').length).toBeLessThanOrEqual(100);
    expect(system.logs().find((line) => line.msg === 'plugin log lines dropped (too many a second)')).toMatchObject({ plugin: 'hostile', dropped: expect.any(Number) });
  });

  it('crashes alone: the call fails as crashed, the crash is logged, and the next call gets a fresh child', async () => {
    const pid = system.registry.processOf('hostile')?.pid;
    const error = await run('crash').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginCallError);
    expect((error as PluginCallError).reason).toBe('crashed');
    expect(system.logs().find((line) => line.msg === 'plugin failed' && String(line.detail).includes('boom'))).toMatchObject({ plugin: 'hostile' });
    expect(await run('ping')).toBe('pong');
    expect(system.registry.processOf('hostile')?.pid).not.toBe(pid);
  });

  it('is killed when it spins past its time budget; the next call works', async () => {
    const started = Date.now();
    const error = await run('spin').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginCallError);
    expect((error as PluginCallError).reason).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(system.logs().some((line) => line.msg === 'plugin call timed out; child killed' && line.plugin === 'hostile')).toBe(true);
    expect(await run('ping')).toBe('pong');
  });

  it.each(['heap', 'buffers'])('is killed when it exhausts memory (%s), reported, and the next call works', async (command) => {
    const error = await run(command).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PluginCallError);
    expect((error as PluginCallError).reason).toBe('memory');
    expect(system.logs().filter((line) => line.msg === 'plugin child ended').at(-1)).toMatchObject({ plugin: 'hostile', reason: 'memory' });
    expect(await run('ping')).toBe('pong');
  }, 30_000);
});

describe('plugins refused before they run', () => {
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
