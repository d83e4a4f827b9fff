import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCoreConfig } from '../src/config.js';
import { startCore } from '../src/core.js';
import { ConfigError } from '../src/errors.js';
import { writeNewKeySet } from '../src/keys/key-store.js';
import { FIXTURES } from './mcp/support.js';
import { type TestBroker, startBroker } from './mqtt/broker.js';
import { capturingLogger, freePort, silentLogger, tempDir, isRunning } from './support.js';
import type { CoreFrame } from '@hearth/shared';
import { type LoopbackEdge, startLoopbackEdge } from './tunnel/loopback-edge.js';

/**
 * The core's one lifecycle: a start that fails part-way (the admin port taken, Redis not there)
 * leaves nothing running, and a stopped core's parts may be stopped again. "Nothing running" is
 * what keeps a process alive, counted by Node: sockets (Redis, BullMQ, MQTT), servers, timers,
 * file watchers, child processes; and Redis' own list of our clients.
 */
const REDIS_URL = 'redis://127.0.0.1:6379';
let dir: string;
let cleanup: () => Promise<void>;
let broker: TestBroker;
let edge: LoopbackEdge;
let redis: Redis;
let env: Record<string, string>;
const queueName = `lifecycle${randomBytes(4).toString('hex')}`;
const pidFile = () => join(dir, 'mcp-server.pid');

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  broker = await startBroker();
  edge = await startLoopbackEdge();
  redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  env = {
    HEARTH_EDGE_URL: edge.url,
    HEARTH_KEY_FILE: join(dir, 'core-key.json'),
    HEARTH_DATA_DIR: join(dir, 'data'),
    HEARTH_ENGINE: 'echo',
    HEARTH_RECALL: 'off',
    HEARTH_PLUGINS: 'off',
    REDIS_URL,
    HEARTH_REDIS_PREFIX: `${queueName}:`,
    HEARTH_JOB_QUEUE: queueName,
    MQTT_URL: broker.url,
    HEARTH_MCP_CONFIG: join(dir, 'mcp.json'),
  };
  await writeNewKeySet(env.HEARTH_KEY_FILE as string);
  // A real child process of the core's: the MCP test server, which writes its pid.
  await writeFile(
    env.HEARTH_MCP_CONFIG as string,
    JSON.stringify({ mcpServers: { tools: { command: process.execPath, args: [join(FIXTURES, 'tools-server.mjs')], trusted: true, env: { PID_FILE: pidFile() } } } }),
  );
});
afterAll(async () => {
  await redis?.quit();
  await edge?.close();
  await broker?.stop();
  await cleanup?.();
});

/** What keeps this process alive now, by kind (`TCPSocketWrap`, `Timeout`, `ProcessWrap`...), counted. */
function openHandles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * Waits until no kind of handle is open more often than in `before` (a socket closes a turn after
 * its `end`), and fails with the counts if that does not come. Fewer is fine: what the test had
 * open before may have finished meanwhile. The wait between looks is a timer that has fired by
 * the time of each look, so it is never counted.
 */
async function expectHandlesBackTo(before: Record<string, number>): Promise<void> {
  const extra = () => Object.entries(openHandles()).filter(([kind, count]) => count > (before[kind] ?? 0));
  const deadline = Date.now() + 10_000;
  while (extra().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  expect(Object.fromEntries(extra()), `open handles beyond ${JSON.stringify(before)}`).toEqual({});
}

/** Files this process holds open in the core's data folder (its SQLite connections), from /proc. */
async function openDataFiles(): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((target) => target.startsWith(env.HEARTH_DATA_DIR as string));
}

/** This test's clients on the shared Redis, by connection name (`hearth-jobs-<queue>`, ...). */
async function ourRedisClients(): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return [...list.matchAll(/ name=(\S+)/g)].map((match) => match[1] ?? '').filter((name) => name.includes(queueName));
}


/** The MCP server's pid once it wrote it, else undefined (the start may end before it spawned). */
async function mcpServerPid(): Promise<number | undefined> {
  return existsSync(pidFile()) ? Number(await readFile(pidFile(), 'utf8')) : undefined;
}

describe('a core start that fails part-way', { timeout: 60_000 }, () => {
  it('with the admin port taken, stops the queue, MQTT, MCP and memory it had started', async () => {
    const taken: Server = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    await rm(pidFile(), { force: true });
    try {
      const before = openHandles();
      const { log, lines } = capturingLogger('info');
      const started = startCore(loadCoreConfig({ ...env, HEARTH_ADMIN_PORT: String(port) }), log);
      await expect(started).rejects.toBeInstanceOf(ConfigError);
      await expect(started).rejects.toThrow(/cannot open the admin port 127\.0\.0\.1:\d+ \(HEARTH_ADMIN_PORT/);
      // It got that far: the MQTT bridge was connected, and stopped.
      expect(lines.join('')).toContain('mqtt bridge stopped');
      await expectHandlesBackTo(before);
      expect(await openDataFiles()).toEqual([]);
      await expect.poll(ourRedisClients).toEqual([]);
      const pid = await mcpServerPid();
      if (pid !== undefined) expect(isRunning(pid)).toBe(false);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });

  it('with Redis not there, names REDIS_URL and leaves nothing of what it had started', async () => {
    const closedPort = await freePort();
    const before = openHandles();
    const started = startCore(loadCoreConfig({ ...env, REDIS_URL: `redis://127.0.0.1:${closedPort}`, HEARTH_ADMIN_PORT: '0' }), silentLogger());
    await expect(started).rejects.toThrow(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(REDIS_URL\)/);
    await expectHandlesBackTo(before);
    // The learning tables' connection, opened before memory dialled Redis.
    expect(await openDataFiles()).toEqual([]);
  });
});

describe('a stopped core', { timeout: 60_000 }, () => {
  it('disposes once: again the core or any of its parts resolves, and nothing is left running', async () => {
    await rm(pidFile(), { force: true });
    const adminPort = await freePort();
    const before = openHandles();
    const core = await startCore(loadCoreConfig({ ...env, HEARTH_ADMIN_PORT: String(adminPort) }), silentLogger());
    await edge.next((frame): frame is Extract<CoreFrame, { type: 'hello' }> => frame.type === 'hello');
    await expect.poll(() => existsSync(pidFile()), { timeout: 20_000 }).toBe(true);
    await Promise.all([core.dispose(), core.dispose()]);
    await core[Symbol.asyncDispose]();
    await expect(
      Promise.all([core.tunnel.dispose(), core.pipeline.dispose(), core.queue.dispose(), core.memory.dispose(), core.engine.dispose()]),
    ).resolves.toBeDefined();
    await expectHandlesBackTo(before);
    expect(await openDataFiles()).toEqual([]);
    await expect.poll(ourRedisClients).toEqual([]);
    expect(isRunning(Number(await readFile(pidFile(), 'utf8')))).toBe(false);
  });
});
