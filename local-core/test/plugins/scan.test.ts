import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdir, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ScannedPlugin, scanPlugins } from '../../src/plugins/scan.js';
import { tempDir } from '../support.js';

/**
 * The install-time walk of a plugin folder fails closed: whatever it cannot read in full, or
 * what is neither a file nor a folder, refuses the plugin, rather than leaving a subtree unseen
 * (where a symbolic link would then pass). Real folders throughout.
 */

let root: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  const made = await tempDir();
  root = join(made.dir, 'plugins');
  cleanup = made.cleanup;
  await mkdir(root);
});

afterEach(async () => {
  // A chmod 000 folder must be readable again for the removal (when not root).
  await chmod(join(root, 'locked', 'private'), 0o700).catch(() => {});
  await cleanup();
});

/** A valid plugin `name` (plugin.json and handler.mjs); returns its folder. */
async function plugin(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  await writeFile(join(dir, 'plugin.json'), JSON.stringify({ name, version: '1.0.0', description: `the ${name} test plugin`, entry: 'handler.mjs' }));
  await writeFile(join(dir, 'handler.mjs'), 'export default {};');
  return dir;
}

async function scanned(): Promise<Record<string, ScannedPlugin>> {
  return Object.fromEntries((await scanPlugins(root)).map((found) => [found.name, found]));
}

/** Refused: no manifest, no files, and these problems. */
function expectRefused(found: ScannedPlugin | undefined, problems: unknown[]): void {
  expect(found?.manifest).toBeUndefined();
  expect(found?.problems).toEqual(problems);
  expect(found?.files).toEqual([]);
}

/** `depth` folders nested under `dir`; returns the innermost. */
async function nested(dir: string, depth: number): Promise<string> {
  const inner = join(dir, ...Array.from({ length: depth }, (_, i) => `d${i + 1}`));
  await mkdir(inner, { recursive: true });
  return inner;
}

/** `count` empty files in `dir`. */
async function files(dir: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => writeFile(join(dir, `f${String(i).padStart(4, '0')}.json`), '')));
}

const isRoot = process.getuid?.() === 0;

describe('scanPlugins', () => {
  it("lists a loaded plugin's regular files, relative with / and sorted", async () => {
    const dir = await plugin('good');
    await mkdir(join(dir, 'lib', 'deep'), { recursive: true });
    await mkdir(join(dir, 'empty'));
    await writeFile(join(dir, 'lib', 'util.mjs'), 'export const x = 1;');
    await writeFile(join(dir, 'lib', 'deep', 'data.json'), '{}');
    await writeFile(join(dir, 'lib-extra.mjs'), '');
    await writeFile(join(dir, 'README.md'), '# good');
    const { good } = await scanned();
    expect(good?.problems).toEqual([]);
    expect(good?.manifest?.name).toBe('good');
    // Sorted as a whole, not in walk order: "lib-extra.mjs" < "lib/…" since "-" < "/".
    expect(good?.files).toEqual(['README.md', 'handler.mjs', 'lib-extra.mjs', 'lib/deep/data.json', 'lib/util.mjs', 'plugin.json']);
  });

  it('refuses a symbolic link at depth 9, past the walk limit, and still loads a plugin 8 folders deep', async () => {
    await symlink('/etc/passwd', join(await nested(await plugin('deep'), 9), 'passwd'));
    await writeFile(join(await nested(await plugin('fine'), 8), 'data.json'), '{}');
    const found = await scanned();
    expectRefused(found.deep, [
      'the plugin folder nests folders more than 8 deep (d1/d2/d3/d4/d5/d6/d7/d8/d9): the scan stops there, so the plugin is refused (flatten its folders)',
    ]);
    expect(found.fine?.problems).toEqual([]);
    expect(found.fine?.files).toContain('d1/d2/d3/d4/d5/d6/d7/d8/data.json');
  });

  it('refuses a symbolic link placed after 2,001 files, and loads a plugin of exactly 2,000 entries', async () => {
    const many = await plugin('many');
    await mkdir(join(many, 'a'));
    await files(join(many, 'a'), 2_001);
    await mkdir(join(many, 'b'));
    await symlink('/etc/passwd', join(many, 'b', 'passwd'));
    // plugin.json, handler.mjs, the folder a and 1,997 files in it: 2,000 entries.
    const full = await plugin('full');
    await mkdir(join(full, 'a'));
    await files(join(full, 'a'), 1_997);
    const found = await scanned();
    expectRefused(found.many, [
      'the plugin folder holds more than 2000 entries: the scan stops there, so the plugin is refused (a plugin this large is unusual; remove what it does not need)',
    ]);
    expect(found.full?.problems).toEqual([]);
    expect(found.full?.files).toHaveLength(1_999);
  });

  it('refuses a folder or a file the scan cannot open, as root too (a name that is not UTF-8 cannot be opened by the name readdir gives)', async () => {
    // Node decodes the byte 0xff as U+FFFD: the path built from that name does not exist, whoever runs the scan.
    const folder = Buffer.concat([Buffer.from(`${await plugin('badfolder')}/d`), Buffer.from([0xff])]);
    await mkdir(folder);
    await symlink('/etc/passwd', Buffer.concat([folder, Buffer.from('/passwd')]));
    await writeFile(Buffer.concat([Buffer.from(`${await plugin('badfile')}/f`), Buffer.from([0xfe])]), 'x');
    const found = await scanned();
    const cannotRead = (path: string) =>
      `the scan cannot read ${path} (ENOENT), so the plugin is refused: all of it must be checked (let the user who runs the core read the whole folder)`;
    expectRefused(found.badfolder, [cannotRead('d\uFFFD')]);
    expectRefused(found.badfile, [cannotRead('f\uFFFD')]);
  });

  it.skipIf(isRoot)('refuses a folder it may not read (chmod 000; root reads it anyway, so skipped as root)', async () => {
    const dir = await plugin('locked');
    await mkdir(join(dir, 'private'));
    await symlink('/etc/passwd', join(dir, 'private', 'passwd'));
    await chmod(join(dir, 'private'), 0o000);
    expectRefused((await scanned()).locked, [expect.stringContaining('the scan cannot read private (EACCES)')]);
  });

  it('refuses a FIFO or a socket (reading one would hang the host), and loads the plugin once it is gone', async () => {
    const piped = await plugin('piped');
    execFileSync('mkfifo', [join(piped, 'pipe.mjs')]);
    const socketed = await plugin('socketed');
    const server = createServer().listen(join(socketed, 'lib.sock'));
    await once(server, 'listening');
    try {
      const found = await scanned();
      expectRefused(found.piped, ['pipe.mjs is a named pipe (FIFO), neither a file nor a folder: plugins may hold only those, so the plugin is refused (remove it)']);
      expectRefused(found.socketed, [expect.stringContaining('lib.sock is a socket, neither a file nor a folder')]);
      execFileSync('rm', [join(piped, 'pipe.mjs')]);
      const fixed = (await scanned()).piped;
      expect(fixed?.problems).toEqual([]);
      expect(fixed?.fingerprint).not.toBe(found.piped?.fingerprint);
    } finally {
      server.close();
    }
  });

  it('refuses a plugin whose files add up to more than 16 MiB (a sparse file is enough)', async () => {
    const dir = await plugin('huge');
    await writeFile(join(dir, 'model.bin'), '');
    await truncate(join(dir, 'model.bin'), 17 * 1024 * 1024);
    expectRefused((await scanned()).huge, [
      "the plugin's files add up to more than 16 MiB: the scan stops there, so the plugin is refused (a plugin this large is unusual; remove what it does not need)",
    ]);
  });

  it('still names the symbolic links it finds', async () => {
    const dir = await plugin('linked');
    await symlink('/etc/passwd', join(dir, 'passwd'));
    expectRefused((await scanned()).linked, [expect.stringContaining('symbolic link (passwd)')]);
  });
});
