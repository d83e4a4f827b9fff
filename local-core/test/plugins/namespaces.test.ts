import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { manifest, messageIn, openRegistry } from './support.js';

/** The processes under `pid`, from /proc (bubblewrap starts node as a grandchild of its own). */
function descendants(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return children.flatMap((child) => [child, ...descendants(child)]);
}

// By argv[0]: comm is MainThread on Node 24, which names its threads.
const nodeUnder = (pid: number) => descendants(pid).find((child) => /node$/.test(readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0] ?? ''));

/**
 * HEARTH_PLUGINS_ISOLATION=auto where bubblewrap works (this machine and CI): the plugin host
 * runs in namespaces of its own, seen from outside through /proc. Its file system is the runtime,
 * the engine's packages and the system libraries only; its network has no way out; and it still
 * works, since its fetches are made by the core.
 */
describe.skipIf(!namespaceSupport().ok)('plugin hosts in namespaces of their own (bubblewrap)', () => {
  it('runs the host in other mount, network and pid namespaces, where the core-made fetch still works', async () => {
    const server = createServer((_req, res) => res.end('from outside the namespace'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const system = await openRegistry([
      {
        name: 'isolated',
        manifest: manifest('isolated', { commands: [{ name: 'get', description: 'fetch' }], permissions: { network: [], lan: [`127.0.0.1:${port}`] } }),
        handler: `export default { commands: { get: async (_a, ctx) => (await ctx.fetch('http://127.0.0.1:${port}/')).text() } };`,
      },
    ]);
    try {
      expect(await system.registry.runCommand('get', '', messageIn(95, '/get'))).toBe('from outside the namespace');
      const host = nodeUnder(system.registry.processOf('isolated')?.pid as number);
      expect(host).toBeDefined();
      for (const ns of ['mnt', 'net', 'pid', 'ipc', 'uts']) expect(readlinkSync(`/proc/${host}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
      // Its root holds none of the core's files: not its data folder, not /etc/passwd, not /root.
      const root = `/proc/${host}/root`;
      expect(existsSync(`${root}${system.dir}`)).toBe(false);
      expect(existsSync(`${root}/etc/passwd`)).toBe(false);
      expect(existsSync(`${root}/root`)).toBe(false);
      expect(existsSync(`${root}/usr/lib`)).toBe(true);
    } finally {
      await system.close();
      server.close();
    }
  });
});

describe('plugin hosts without namespaces', () => {
  it('HEARTH_PLUGINS_ISOLATION=off: the same plugin runs, its host in the core\'s namespaces (the engine is the boundary)', async () => {
    const system = await openRegistry(
      [{ name: 'plain', manifest: manifest('plain', { commands: [{ name: 'hi', description: 'hi' }] }), handler: "export default { commands: { hi: async () => typeof process } };" }],
      { isolation: 'off' },
    );
    try {
      expect(await system.registry.runCommand('hi', '', messageIn(96, '/hi'))).toBe('undefined');
      const pid = system.registry.processOf('plain')?.pid as number;
      // Node itself, not bwrap (comm would say MainThread on Node 24: it names its threads).
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(realpathSync(process.execPath));
      expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(readlinkSync('/proc/self/ns/net'));
    } finally {
      await system.close();
    }
  });
});
