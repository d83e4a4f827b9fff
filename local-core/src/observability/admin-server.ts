import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CoreStatus } from './core-status.js';
import type { CoreMetrics } from './metrics.js';

export interface AdminServerOptions {
  host: string;
  port: number;
  metrics: CoreMetrics;
  /** Whether the core can take work (the tunnel is up), with details for people. */
  health: () => { ok: boolean; [detail: string]: unknown };
  /** The core's state for `hearth status`. */
  status: () => Promise<CoreStatus>;
  /** HTML pages by path (`/experiments`: the experiment report with its plots). */
  pages?: Record<string, () => string>;
  log: Logger;
}

export interface AdminServer extends AsyncDisposable {
  readonly url: string;
  /** Stops listening and waits for open requests. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * The core's local admin surface: `GET /metrics` (Prometheus), `GET /healthz` (200 while the
 * tunnel is up, else 503: for container health checks), `GET /status` (JSON, for `hearth
 * status`). On 127.0.0.1 by default: nothing here is meant for the network.
 */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { metrics, log } = options;
  const server: Server = createServer((req, res) => {
    const reply = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const route = `${req.method} ${(req.url ?? '').split('?')[0]}`;
    const handle = async () => {
      switch (route) {
        case 'GET /metrics':
          return reply(200, metrics.registry.contentType, await metrics.registry.metrics());
        case 'GET /healthz': {
          const health = options.health();
          return reply(health.ok ? 200 : 503, 'application/json', JSON.stringify(health));
        }
        case 'GET /status':
          return reply(200, 'application/json', JSON.stringify(await options.status()));
        default: {
          const page = req.method === 'GET' ? options.pages?.[route.slice(4)] : undefined;
          if (page) return reply(200, 'text/html; charset=utf-8', page());
          return reply(404, 'application/json', JSON.stringify({ error: 'no such route: /metrics, /healthz, /status' }));
        }
      }
    };
    handle().catch((error: unknown) => {
      log.error({ err: error instanceof Error ? error.message : String(error), route }, 'admin request failed');
      if (!res.headersSent) reply(500, 'application/json', JSON.stringify({ error: 'internal error' }));
    });
  });
  // One settlement: `once(server, 'listening')` would reject first with the bare EADDRINUSE.
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) => reject(new ConfigError(`cannot open the admin port ${options.host}:${options.port} (HEARTH_ADMIN_PORT, 0 turns it off): ${String(error)}`)));
    server.listen(options.port, options.host);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  log.info({ url }, 'admin port open (/metrics, /healthz, /status)');
  let disposing: Promise<void> | undefined;
  const dispose = () => {
    // Keep-alive connections idle since their last answer would hold `close` open.
    disposing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    return disposing;
  };
  return { url, dispose, [Symbol.asyncDispose]: dispose };
}
