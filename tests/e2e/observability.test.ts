import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreProcess } from '../support/core-process.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

/**
 * What an operator sees of a running system: the core's admin port (Prometheus metrics, health)
 * and `hearth status`, which asks the edge over the tunnel and the core over its admin port.
 */
let system: System;
let admin: string;
beforeAll(async () => {
  system = await startSystem();
  const opened = await system.core.waitForLog((l) => l.msg === 'admin port open (/metrics, /healthz, /status)');
  admin = String(opened.url);
  for (const text of ['Once upon a time', 'The cat sat']) {
    await system.postUpdate(textUpdate(4301, text));
  }
  await system.telegram.waitFor(() => system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === '4301').length === 2, 30_000);
});
afterAll(() => system?.stop());

/** The value of one sample line of a Prometheus exposition, e.g. `hearth_acks_total{outcome="replied"}`. */
const sample = (exposition: string, name: string): number => {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`no ${name} in /metrics`);
  return Number(line.slice(name.length + 1));
};

describe('observability', () => {
  it('serves health and Prometheus metrics on the core admin port', async () => {
    const health = await fetch(`${admin}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ ok: true, tunnel: 'ready', engine: 'llama' });

    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(sample(metrics, 'hearth_deliveries_total')).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'hearth_acks_total{outcome="replied"}')).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'hearth_reply_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(sample(metrics, 'hearth_generated_tokens_total')).toBeGreaterThan(0);
    expect(sample(metrics, 'hearth_generation_seconds_total')).toBeGreaterThan(0);
    expect(sample(metrics, 'hearth_tunnel_connected')).toBe(1);
    expect(sample(metrics, 'hearth_queue_jobs{state="waiting"}')).toBe(0);
    expect(sample(metrics, 'hearth_cache_misses_total{tier="l3"}')).toBeGreaterThan(0);
    expect(metrics).toContain('hearth_core_process_resident_memory_bytes');
  });

  it('hearth status shows the edge (through the tunnel) and this core (through its admin port)', async () => {
    const port = new URL(admin).port;
    const cli = new CoreProcess({ ...system.coreCliEnv, HEARTH_ADMIN_PORT: port }, ['status', '--json']);
    expect(await cli.exited).toBe(0);
    const report = JSON.parse(cli.stdout) as {
      edge: { ok: boolean; status: { pending: number; cores: { core_id: string; window: number }[]; counters: Record<string, number> } };
      core: { ok: boolean; status: { core_id: string; tunnel: { state: string }; queue: { kind: string } } };
    };
    expect(report.edge.ok).toBe(true);
    expect(report.edge.status.pending).toBe(0);
    expect(report.edge.status.cores.map((c) => c.core_id)).toContain('e2e-core-1');
    expect(report.edge.status.counters).toMatchObject({ messages_stored: 2, replies_sent: 2 });
    expect(report.core).toMatchObject({ ok: true, status: { core_id: 'e2e-core-1', tunnel: { state: 'ready' }, queue: { kind: 'local' } } });

    const people = new CoreProcess({ ...system.coreCliEnv, HEARTH_ADMIN_PORT: port }, ['status']);
    expect(await people.exited).toBe(0);
    expect(people.stdout).toMatch(/^edge: 0 queued \(0 in flight\)/);
    expect(people.stdout).toContain('core e2e-core-1: tunnel ready');
  });
});
