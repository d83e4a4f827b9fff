import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewKeySet } from '../../src/keys/key-store.js';
import type { McpEntry } from '../../src/mcp/file.js';
import { McpServers } from '../../src/mcp/servers.js';
import { namespaceSupport } from '../../src/plugins/sandbox.js';
import { messageIn } from '../plugins/support.js';
import { capturingLogger, tempDir } from '../support.js';
import { FIXTURES, fixtureEntry } from './support.js';

/**
 * A hostile MCP server (test/mcp/fixtures/hostile-server.mjs) tries what a malicious one would:
 * the owner's SSH key, the core's key file and database, a Unix socket and a loopback TCP port
 * of this machine, the core's environment (its own and through /proc), other processes, writes
 * outside its folders and into its read-only one. Untrusted (sandboxed), every attempt fails, and
 * the servers at the other end count no connection. The same server trusted gets them: that is
 * the check that the sandbox, not the test, is what stops it.
 */
const SECRET_NAME = 'HEARTH_MCP_TEST_SECRET';
const ATTACKS = ['ssh', 'realSsh', 'coreKey', 'coreDb', 'unixSocket', 'tcp', 'coreEnv', 'coreEnvViaProc', 'processes', 'writeOutside', 'writeReadOnly'];

let dir: string;
let cleanup: () => Promise<void>;
let tcp: Server;
let unix: NetServer;
const seen = { tcp: 0, unix: 0 };
let targets: Record<string, unknown>;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  process.env[SECRET_NAME] = 'the-core-secret';
  await mkdir(join(dir, 'home', '.ssh'), { recursive: true });
  await writeFile(join(dir, 'home', '.ssh', 'id_ed25519'), 'PRIVATE KEY');
  await mkdir(join(dir, 'data'));
  await writeNewKeySet(join(dir, 'data', 'core-key.json'));
  await writeFile(join(dir, 'data', 'core.db'), 'SQLite format 3');
  await mkdir(join(dir, 'readonly'));
  await mkdir(join(dir, 'writable'));
  tcp = createHttpServer((_req, res) => res.end('reached'));
  tcp.on('connection', () => {
    seen.tcp += 1;
  });
  await new Promise<void>((done) => tcp.listen(0, '127.0.0.1', done));
  unix = createNetServer((socket) => socket.end());
  unix.on('connection', () => {
    seen.unix += 1;
  });
  await new Promise<void>((done) => unix.listen(join(dir, 'core.sock'), done));
  targets = {
    home: join(dir, 'home'),
    keyFile: join(dir, 'data', 'core-key.json'),
    database: join(dir, 'data', 'core.db'),
    socket: join(dir, 'core.sock'),
    port: (tcp.address() as { port: number }).port,
    secretName: SECRET_NAME,
    corePid: process.pid,
    // Beside the core's own files (a write under its own /tmp would only land in the sandbox's).
    outside: join(dir, 'data', 'escaped.txt'),
    readOnly: join(dir, 'readonly'),
    writable: join(dir, 'writable'),
  };
});
afterAll(async () => {
  delete process.env[SECRET_NAME];
  tcp?.close();
  unix?.close();
  await cleanup?.();
});

/** Runs the attack on a server started from `entry`, and what each attempt got. */
async function attack(entry: McpEntry): Promise<Record<string, string>> {
  const { log } = capturingLogger('debug');
  const servers = McpServers.start([{ ...entry, name: 'hostile' }], { log, env: process.env, namespaces: namespaceSupport });
  try {
    expect(await servers.connection('hostile')?.settled(20_000)).toBe('ready');
    const [tool] = servers.toolsFor(messageIn(91, 'hi'), new Set());
    const result = await tool?.call({ targets });
    if (typeof result !== 'string') throw new Error(`the attack gave no report: ${JSON.stringify(result)}`);
    return JSON.parse(result) as Record<string, string>;
  } finally {
    await servers.dispose();
  }
}

describe.skipIf(!namespaceSupport().ok)('a hostile stdio MCP server', { timeout: 60_000 }, () => {
  it('gets nothing when untrusted: every attempt fails, nothing is connected to or written', async () => {
    const grants = { folders: [FIXTURES, join(FIXTURES, '../../../../node_modules'), targets.readOnly, { path: targets.writable, writable: true }] };
    const results = await attack(fixtureEntry('hostile-server.mjs', grants));
    for (const name of ATTACKS) expect({ [name]: results[name] }).toEqual({ [name]: expect.stringMatching(/^failed: /) });
    expect(results.coreEnv).not.toContain(SECRET_NAME);
    expect(seen).toEqual({ tcp: 0, unix: 0 });
    expect(existsSync(targets.outside as string)).toBe(false);
    expect(existsSync(join(targets.readOnly as string, 'pwned.txt'))).toBe(false);
    // The control: the folder granted writable is written, and the write is the owner's to see.
    expect(results.writeGranted).toBe('SUCCEEDED: written');
    expect(await readFile(join(targets.writable as string, 'granted.txt'), 'utf8')).toBe('allowed');
  });

  it('gets them when the same server is marked trusted (so the sandbox is what stopped it)', async () => {
    const results = await attack(fixtureEntry('hostile-server.mjs', { trusted: true }));
    for (const name of ['ssh', 'coreKey', 'coreDb', 'unixSocket', 'tcp', 'coreEnvViaProc', 'processes', 'writeOutside', 'writeReadOnly']) {
      expect({ [name]: results[name] }).toEqual({ [name]: expect.stringMatching(/^SUCCEEDED: /) });
    }
    // Even trusted, the core's own environment is not handed over: only the entry's env, by name.
    expect(results.coreEnv).toMatch(/^failed: /);
    expect(seen.tcp).toBeGreaterThan(0);
    expect(seen.unix).toBeGreaterThan(0);
  });
});
