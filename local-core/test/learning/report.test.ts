import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { experimentReport, formatReport, percentile, wilson } from '../../src/learning/report.js';
import { reportPage } from '../../src/learning/report-page.js';
import { LearningStore } from '../../src/learning/store.js';
import { type Db, openDatabase } from '../../src/memory/database.js';
import { startAdminServer } from '../../src/observability/admin-server.js';
import { CoreMetrics } from '../../src/observability/metrics.js';
import { silentLogger, tempDir } from '../support.js';

let dir: { dir: string; cleanup: () => Promise<void> };
let db: Db;
let store: LearningStore;
beforeEach(async () => {
  dir = await tempDir();
  db = openDatabase(join(dir.dir, 'core.db'));
  store = new LearningStore(db);
});
afterEach(async () => {
  db.close();
  await dir.cleanup();
});

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 1);

/** `n` replies of a variant, an hour apart, with latencies `ms(i)`, rated by `rating(i)`. */
function replies(variant: string, n: number, ms: (i: number) => number, rating: (i: number) => 'up' | 'down' | undefined) {
  for (let i = 0; i < n; i++) {
    const replyKey = `reply:telegram:${variant}:${i}`;
    store.recordReply({ replyKey, messageId: replyKey.slice(6), conversationId: `telegram:${variant}`, senderId: `telegram:${i}`, platform: 'telegram', variant, model: 'm', kind: 'chat', createdAt: T0 + i * HOUR, generationMs: 500, tokens: 10 });
    store.setLatency(replyKey, ms(i));
    const r = rating(i);
    if (r) store.history.recordFeedback({ messageId: replyKey, userId: `telegram:${i}`, rating: r, createdAt: T0 + i * HOUR + 1 });
  }
}

describe('experiment statistics', () => {
  it('Wilson interval and percentiles', () => {
    const w = wilson(8, 10);
    expect(w.value).toBe(0.8);
    expect(w.low).toBeCloseTo(0.4902, 4);
    expect(w.high).toBeCloseTo(0.9433, 4);
    expect(wilson(0, 0)).toEqual({ value: null, low: null, high: null });
    expect(wilson(0, 5).low).toBe(0);
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('reports per variant: replies, feedback rate, 👍 share with its interval, latency p50/p95, tokens/s, and buckets over time', () => {
    replies('a', 20, (i) => 100 + i, (i) => (i < 10 ? (i < 8 ? 'up' : 'down') : undefined));
    replies('b', 10, () => 300, (i) => (i < 5 ? 'down' : undefined));
    const report = experimentReport(store, { until: T0 + 30 * HOUR, variants: ['a', 'b', 'c'] });
    const [a, b, c] = report.variants;
    expect(a).toMatchObject({ variant: 'a', replies: 20, rated: 10, feedback_rate: 0.5, ups: 8, downs: 2, latency_ms: { p50: 109, p95: 118 }, tokens_per_second: 20 });
    expect(a?.up_share.low).toBeCloseTo(0.4902, 4);
    expect(b).toMatchObject({ replies: 10, rated: 5, ups: 0, downs: 5, up_share: { value: 0 }, latency_ms: { p50: 300, p95: 300 } });
    expect(c).toMatchObject({ replies: 0, feedback_rate: null, up_share: { value: null } });
    expect(report.bucket_ms).toBe(HOUR);
    expect(report.buckets[0]).toEqual({ start: T0, variants: { a: { replies: 1, ups: 1, downs: 0 }, b: { replies: 1, ups: 0, downs: 1 } } });
    const text = formatReport(report);
    expect(text).toMatch(/^variant\s+replies/);
    expect(text).toContain('80.0% (49.0%-94.3%)');

    store.promote('b');
    expect(formatReport(experimentReport(store, { until: T0 + 30 * HOUR }))).toContain('promoted: b');
  });

  it('serves the report with inline SVG plots on the admin port at /experiments', async () => {
    replies('a', 12, () => 100, (i) => (i % 3 === 0 ? 'down' : 'up'));
    replies('b', 12, () => 200, (i) => (i % 2 === 0 ? 'down' : 'up'));
    const metrics = new CoreMetrics({
      queue: async () => ({ waiting: 0, active: 0, running: 0 }),
      tiers: () => ({ l1: { hits: 0, misses: 0 }, l2: null, l3: { hits: 0, misses: 0 } }),
      tunnelReady: () => true,
      sequences: () => 1,
    });
    const admin = await startAdminServer({
      host: '127.0.0.1',
      port: 0,
      metrics,
      log: silentLogger(),
      health: () => ({ ok: true }),
      status: async () => ({}) as never,
      pages: { '/experiments': () => reportPage(experimentReport(store, { until: T0 + 12 * HOUR })) },
    });
    try {
      const response = await fetch(`${admin.url}/experiments`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/html');
      const html = await response.text();
      expect(html).toContain('<svg');
      expect(html.match(/<polyline/g)).toHaveLength(4);
      expect(html).toContain('<td>a</td><td>12</td>');
      expect((await fetch(`${admin.url}/nope`)).status).toBe(404);
    } finally {
      await admin.dispose();
    }
  });
});
