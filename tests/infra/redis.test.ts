import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/system.js';
import { type JsonObject, interpolateAll, loadComposeRaw, requireTool } from './support.js';

/**
 * The compose file's Redis command, run by this machine's redis-server (Debian's 7.0; the image
 * is redis 7.4): only the port, the address and the data folder are added, as the image's
 * /data is. Its health check runs as written, pointed at that port.
 */
describe('the Redis of docker-compose.yml', () => {
  const compose = interpolateAll(loadComposeRaw(), { HEARTH_EDGE_URL: 'https://edge.example' }) as JsonObject;
  const redis = (compose.services as Record<string, JsonObject>).redis as JsonObject;
  const [program, ...args] = redis.command as string[];
  const healthcheck = (redis.healthcheck as JsonObject).test as string[];
  let dir = '';
  let server: ChildProcess | undefined;
  let port = 0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hearth-infra-redis-'));
  });

  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await once(server, 'exit');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...command: string[]) => execFileSync(requireTool('redis-cli', 'redis-tools'), ['-p', String(port), ...command], { encoding: 'utf8' }).trim();

  async function start() {
    server = spawn(requireTool(String(program), 'redis-server'), [...args, '--port', String(port), '--bind', '127.0.0.1', '--dir', dir], {
      stdio: 'ignore',
    });
    for (let i = 0; ; i++) {
      try {
        if (cli('ping') === 'PONG') return;
      } catch {
        // not listening yet
      }
      if (i > 100 || server.exitCode !== null) throw new Error('redis-server did not start with the compose command');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('starts with the compose command and its health check passes', async () => {
    expect(program).toBe('redis-server');
    port = await freePort();
    await start();
    expect(healthcheck[0]).toBe('CMD-SHELL');
    const check = String(healthcheck[1]).replaceAll('redis-cli', `redis-cli -p ${port}`);
    expect(() => execFileSync('sh', ['-c', check])).not.toThrow();
    expect(cli('config', 'get', 'appendonly')).toBe('appendonly\nyes');
    expect(cli('config', 'get', 'appendfsync')).toBe('appendfsync\neverysec');
    expect(cli('config', 'get', 'maxmemory-policy')).toBe('maxmemory-policy\nnoeviction');
  });

  it('keeps what was written across a crash (SIGKILL, no snapshot), from the append-only file', async () => {
    expect(cli('set', 'hearth:infra-test', 'kept')).toBe('OK');
    // In the append-only file: what a SIGKILL leaves behind (appendfsync everysec syncs it within a second).
    const aof = () => {
      const files = existsSync(join(dir, 'appendonlydir')) ? readdirSync(join(dir, 'appendonlydir')) : [];
      return files.map((f) => readFileSync(join(dir, 'appendonlydir', f), 'latin1')).join('');
    };
    await expect.poll(aof).toContain('hearth:infra-test');
    server?.kill('SIGKILL');
    if (server) await once(server, 'exit');
    expect(readdirSync(dir)).toContain('appendonlydir');
    await start();
    expect(cli('get', 'hearth:infra-test')).toBe('kept');
  });

  it('fails its health check when Redis does not answer', () => {
    const check = String(healthcheck[1]).replaceAll('redis-cli', `redis-cli -p ${port + 1}`);
    expect(() => execFileSync('sh', ['-c', check], { stdio: 'pipe' })).toThrow();
  });
});
