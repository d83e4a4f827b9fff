import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ConnectionOptions, connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../support/system.js';
import { INFRA, read, requireTool } from './support.js';

/** Mozilla's "intermediate" cipher list for TLS 1.2 (guidelines 6.0), in its order. */
const MOZILLA_INTERMEDIATE = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

const conf = read(join(INFRA, 'nginx', 'nginx.conf'));
/** Every value of a directive, in order, e.g. `directive('listen')`. */
const directive = (name: string): string[] => [...conf.matchAll(new RegExp(`^\\s*${name}\\s+([^;]*);`, 'gm'))].map((m) => (m[1] ?? '').trim());

describe('infra/nginx/nginx.conf as written', () => {
  it('speaks TLS 1.2 and 1.3 only, with Mozilla intermediate ciphers, HSTS and no version in Server', () => {
    expect(directive('ssl_protocols')).toEqual(['TLSv1.2 TLSv1.3']);
    expect(directive('ssl_ciphers')).toEqual([MOZILLA_INTERMEDIATE.join(':')]);
    expect(directive('ssl_prefer_server_ciphers')).toEqual(['off']);
    expect(directive('ssl_session_tickets')).toEqual(['off']);
    expect(directive('server_tokens')).toEqual(['off']);
    expect(directive('add_header')).toContain('Strict-Transport-Security "max-age=63072000" always');
  });

  it('rate-limits per client and proxies to the cores with timeouts and streaming-friendly settings', () => {
    expect(directive('limit_req_zone')).toEqual(['$binary_remote_addr zone=hearth_req:10m rate=10r/s']);
    expect(directive('limit_req')).toEqual(['zone=hearth_req burst=20 nodelay']);
    expect(directive('limit_conn')).toEqual(['hearth_conn 20']);
    expect(directive('limit_req_status')).toEqual(['429']);
    expect(directive('proxy_pass')).toEqual(['http://$hearth_core']);
    for (const timeout of ['proxy_connect_timeout', 'proxy_send_timeout', 'proxy_read_timeout']) expect(directive(timeout)).toHaveLength(1);
    expect(directive('proxy_buffering')).toEqual(['off']);
    expect(directive('proxy_set_header')).toEqual(expect.arrayContaining(['Upgrade $http_upgrade', 'Connection $connection_upgrade']));
  });
});

/**
 * The real nginx (Debian's) on the config: `nginx -t`, then running on loopback. The copy under
 * test differs from the file in three places only, each said here: the listen ports (free ports
 * on 127.0.0.1 instead of 443 and 8081) and the upstream (a fake core on loopback instead of
 * hearth-core:9464, which only Docker's DNS knows).
 */
describe('infra/nginx/nginx.conf under nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hearth-infra-nginx-'));
  let nginx: ChildProcess | undefined;
  let core: Server | undefined;
  let https = 0;
  let health = 0;
  const nginxOutput: string[] = [];
  const seen: IncomingMessage['headers'][] = [];

  let nginxPath = '';
  /** nginx's stdout: a file, as in a container (its access log is /dev/stdout, which a socket cannot be). */
  const stdoutFile = () => openSync(join(dir, 'logs', 'stdout.log'), 'a');

  beforeAll(async () => {
    nginxPath = requireTool('nginx', 'nginx');
    const openssl = requireTool('openssl', 'openssl');
    mkdirSync(join(dir, 'certs'));
    mkdirSync(join(dir, 'logs'));
    const cert = ['-subj', '/CN=hearth.lan', '-keyout', join(dir, 'certs', 'privkey.pem'), '-out', join(dir, 'certs', 'fullchain.pem')];
    execFileSync(openssl, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', ...cert], { stdio: 'pipe' });
    // As shipped, in the image's layout (certs/ beside nginx.conf).
    writeFileSync(join(dir, 'nginx.conf'), conf);

    core = createServer((req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.headers);
      if (req.url === '/events') {
        // Server-sent events: the second one only after a pause, to see the first arrive alone.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
        res.write('data: one\n\n');
        setTimeout(() => res.end('data: two\n\n'), 1500);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
    core.on('upgrade', (req, socket) => {
      seen.push(req.headers);
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    core.listen(0, '127.0.0.1');
    await once(core, 'listening');
  });

  afterAll(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGTERM');
      await once(nginx, 'exit');
    }
    core?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A TLS handshake with the given client limits: the protocol and cipher agreed, or the error. */
  const handshake = (options: ConnectionOptions) =>
    new Promise<{ protocol: string | null; cipher: string } | { error: string }>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: https, servername: 'hearth.lan', rejectUnauthorized: false, ...options });
      socket.once('secureConnect', () => {
        resolve({ protocol: socket.getProtocol(), cipher: socket.getCipher().name });
        socket.end();
      });
      socket.once('error', (error) => resolve({ error: error.message }));
    });

  const get = (url: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: IncomingMessage['headers']; body: string }>((resolve, reject) => {
      const request = url.startsWith('https:') ? httpsRequest : httpRequest;
      const req = request(url, { headers, rejectUnauthorized: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  it('passes nginx -t as shipped (with a throwaway self-signed certificate)', () => {
    const out = stdoutFile();
    const result = spawnSync(nginxPath, ['-t', '-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr'], { stdio: ['ignore', out, 'pipe'], encoding: 'utf8' });
    closeSync(out);
    expect(result.stderr).toContain('test is successful');
    expect(result.stderr).not.toMatch(/\[(emerg|warn)\]/);
    expect(result.status).toBe(0);
  });

  describe('running on loopback', () => {
    beforeAll(async () => {
      const address = core?.address();
      if (typeof address !== 'object' || address === null) throw new Error('the fake core is not listening');
      const corePort = address.port;
      https = await freePort();
      health = await freePort();
      const running = conf
        .replace(/listen 443 ssl;/, `listen 127.0.0.1:${https} ssl;`)
        .replace(/listen 127\.0\.0\.1:8081;/, `listen 127.0.0.1:${health};`)
        .replace(/set \$hearth_core hearth-core:9464;/, `set $hearth_core 127.0.0.1:${corePort};`);
      expect(running.match(new RegExp(`127\\.0\\.0\\.1:(${https}|${health}|${corePort})\\b`, 'g'))).toHaveLength(3);
      writeFileSync(join(dir, 'running.conf'), running);
      nginx = spawn(nginxPath, ['-p', dir, '-c', join(dir, 'running.conf'), '-e', 'stderr', '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], {
        stdio: ['ignore', stdoutFile(), 'pipe'],
      });
      nginx.stderr?.on('data', (d: Buffer) => nginxOutput.push(d.toString()));
      for (let i = 0; ; i++) {
        const up = await get(`http://127.0.0.1:${health}/nginx-health`).then(
          () => true,
          () => false,
        );
        if (up) break;
        if (i > 50 || nginx.exitCode !== null) throw new Error(`nginx did not start:\n${nginxOutput.join('')}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    it('agrees TLS 1.3, and TLS 1.2 with an intermediate cipher', async () => {
      expect(await handshake({ minVersion: 'TLSv1.3' })).toMatchObject({ protocol: 'TLSv1.3' });
      expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).toEqual({
        protocol: 'TLSv1.2',
        cipher: 'ECDHE-RSA-AES128-GCM-SHA256',
      });
      expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' })).toMatchObject({ protocol: 'TLSv1.2' });
    });

    it('refuses TLS 1.1, and TLS 1.2 ciphers outside the list (CBC, no forward secrecy)', async () => {
      expect(await handshake({ minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).toHaveProperty('error');
      // nginx's own default (HIGH:!aNULL:!MD5) would take each of these.
      for (const cipher of ['AES128-GCM-SHA256', 'ECDHE-RSA-AES128-SHA256', 'AES256-SHA256']) {
        expect(await handshake({ maxVersion: 'TLSv1.2', ciphers: cipher }), cipher).toHaveProperty('error');
      }
    });

    it('proxies to a core with the forwarding headers, HSTS and no nginx version', async () => {
      const before = seen.length;
      const response = await get(`https://127.0.0.1:${https}/healthz?token=x`);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ ok: true, path: '/healthz?token=x' });
      expect(response.headers['strict-transport-security']).toBe('max-age=63072000');
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers.server).toBe('nginx');
      const forwarded = seen[before];
      expect(forwarded?.['x-forwarded-proto']).toBe('https');
      expect(forwarded?.['x-forwarded-for']).toBe('127.0.0.1');
      expect(forwarded?.['x-real-ip']).toBe('127.0.0.1');
    });

    it('streams server-sent events as they are written, not when the response ends', async () => {
      const started = Date.now();
      const firstAt = await new Promise<number>((resolve, reject) => {
        httpsRequest(`https://127.0.0.1:${https}/events`, { rejectUnauthorized: false }, (res) => {
          res.once('data', () => resolve(Date.now() - started));
          res.resume();
        })
          .on('error', reject)
          .end();
      });
      // The second event comes 1.5 s later; a buffering proxy would hold the first until then.
      expect(firstAt).toBeLessThan(1000);
    });

    it('passes WebSocket upgrades through', async () => {
      const status = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(`https://127.0.0.1:${https}/ws`, {
          rejectUnauthorized: false,
          headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
        });
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(res.statusCode ?? 0);
        });
        req.on('response', (res) => resolve(res.statusCode ?? 0));
        req.on('error', reject);
        req.end();
      });
      expect(status).toBe(101);
      expect(seen.at(-1)?.upgrade).toBe('websocket');
    });

    it('answers its health check on the loopback server', async () => {
      expect(await get(`http://127.0.0.1:${health}/nginx-health`)).toMatchObject({ status: 200, body: 'ok\n' });
    });

    // Last: it spends this client address's allowance.
    it('answers 429 past the burst of a client sending too fast', async () => {
      // An idle client's allowance first: the earlier tests' requests have drained from the bucket.
      await new Promise((r) => setTimeout(r, 2100));
      // Four at a time, under limit_conn's 20: what is refused here is refused for the rate.
      const statuses: number[] = [];
      const started = Date.now();
      for (let i = 0; i < 10; i++) {
        statuses.push(...(await Promise.all(Array.from({ length: 4 }, () => get(`https://127.0.0.1:${https}/metrics`).then((r) => r.status)))));
      }
      const limited = statuses.filter((s) => s === 429).length;
      // 10 r/s with a burst of 20: of 40 sent within a second or so, about 21 pass (plus 10 a
      // second of sending), the rest are refused.
      expect(limited, `${limited} refused in ${Date.now() - started} ms`).toBeGreaterThanOrEqual(5);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(20);
      expect(statuses.filter((s) => s !== 200 && s !== 429)).toEqual([]);
    });
  });
});
