import type { EdgeStatus } from '@hearth/shared';
import type { CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { CoreStatusSchema, type CoreStatus } from '../observability/core-status.js';
import { readKeySet } from '../keys/key-store.js';
import { ownerRequest } from '../tunnel/owner-request.js';

export interface StatusReport {
  /** The edge's view (through the tunnel), or why it could not be had. */
  edge: { ok: true; status: EdgeStatus } | { ok: false; error: string };
  /** This machine's core (its admin port), or why it could not be reached. */
  core: { ok: true; status: CoreStatus } | { ok: false; error: string };
}

/**
 * `hearth status`: the Relay's queue and cores, asked over the tunnel with the core key, and
 * the local core's state from its admin port. Either side may be down; the report says which.
 */
export async function gatherStatus(config: CoreConfig): Promise<StatusReport> {
  const edge = readKeySet(config.keyFile)
    .then((keySet) => ownerRequest({ edgeUrl: config.edgeUrl, coreId: config.coreId, purpose: 'status', keySet, timeoutMs: 10_000 }, { action: 'status' }))
    .then(
      (result): StatusReport['edge'] => (result.status ? { ok: true, status: result.status } : { ok: false, error: result.error ?? 'no status in the answer' }),
      (error: unknown): StatusReport['edge'] => ({ ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  const adminUrl = `http://${config.admin.host}:${config.admin.port}/status`;
  const core =
    config.admin.port === 0
      ? Promise.resolve<StatusReport['core']>({ ok: false, error: 'HEARTH_ADMIN_PORT is 0: the core has no admin port' })
      : fetch(adminUrl, { signal: AbortSignal.timeout(5_000) })
          .then(async (response) => ({ ok: true as const, status: CoreStatusSchema.parse(await response.json()) }))
          .catch((): StatusReport['core'] => ({ ok: false, error: `no core answers at ${adminUrl} (not running on this machine, or another HEARTH_ADMIN_PORT)` }));
  return { edge: await edge, core: await core };
}

const ago = (ms: number) => {
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
};

/** The report for people. */
export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  if (report.edge.ok) {
    const e = report.edge.status;
    lines.push(
      `edge: ${e.pending} queued (${e.in_flight} in flight), ${e.outbox_unsent} replies unsent, ${e.dead_letters} dead letters, ${e.pairing_pending} pairing codes waiting`,
      `  cores connected: ${e.cores.length === 0 ? 'none' : e.cores.map((c) => `${c.core_id} (holding ${c.in_flight}/${c.window})`).join(', ')}`,
      `  since the Relay woke ${ago(e.since)} ago: ${Object.entries(e.counters).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing yet'}`,
    );
  } else {
    lines.push(`edge: unreachable: ${report.edge.error}`);
  }
  if (report.core.ok) {
    const c = report.core.status;
    lines.push(
      `core ${c.core_id}: tunnel ${c.tunnel.state}, window ${c.tunnel.credits}; ${c.engine.model}`,
      `  queue (${c.queue.kind}): ${c.queue.running} running, ${c.queue.waiting} waiting; sessions in ${c.memory.state_tier}; memory ${Math.round(c.rss_bytes / 2 ** 20)} MiB`,
    );
  } else {
    lines.push(`core: ${report.core.error}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Exit 1 when the edge cannot be asked: that is the part a person must fix first. */
export function assertReachable(report: StatusReport): void {
  if (!report.edge.ok) throw new ConfigError(`the edge could not be asked: ${report.edge.error}`);
}
