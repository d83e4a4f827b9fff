import { existsSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { manifest, messageIn, openRegistry } from './support.js';

const UNSHARE = ['/usr/bin/unshare', '/bin/unshare'].find((path) => existsSync(path));

/**
 * HEARTH_PLUGINS_NETNS=on: the OS-level layer under the Node sandbox. The child runs in a network
 * namespace of its own (a loopback only, down), checked from the host through /proc, and still
 * works: its fetches are made by the host, outside that namespace.
 */
describe.skipIf(!UNSHARE || process.getuid?.() !== 0)('plugins in their own network namespace (root only)', () => {
  it('runs the child in another network namespace, where host-made fetches still work', async () => {
    const server = createServer((_req, res) => res.end('from outside the namespace'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const system = await openRegistry(
      [
        {
          name: 'isolated',
          manifest: manifest('isolated', { commands: [{ name: 'get', description: 'fetch' }], permissions: { network: [`127.0.0.1:${port}`] } }),
          handler: `export default { commands: { get: async (_a, ctx) => (await ctx.fetch('http://127.0.0.1:${port}/')).text() } };`,
        },
      ],
      { netns: UNSHARE },
    );
    try {
      expect(await system.registry.runCommand('get', '', messageIn(95, '/get'))).toBe('from outside the namespace');
      // The pid fork knows is unshare's, which exec'd node in its place: the same process.
      const pid = system.registry.processOf('isolated')?.pid;
      expect(pid).toBeDefined();
      expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    } finally {
      await system.close();
      server.close();
    }
  });
});
