import type { ExperimentReport } from './report.js';

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
const W = 720;
const H = 220;
const PAD = { left: 48, right: 16, top: 16, bottom: 28 };

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One line chart: a polyline per variant over the buckets' start times, y from 0 to `maxY`. */
function chart(title: string, report: ExperimentReport, value: (counts: { replies: number; ups: number; downs: number }) => number | null, maxY: number, yLabel: (y: number) => string): string {
  const names = report.variants.map((v) => v.variant);
  const xs = report.buckets.map((b) => b.start);
  const x0 = Math.min(...xs, report.since);
  const x1 = Math.max(...xs, report.until, x0 + 1);
  const sx = (t: number) => PAD.left + ((t - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - (y / (maxY || 1)) * (H - PAD.top - PAD.bottom);
  const grid = [0, 0.5, 1]
    .map((f) => `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(f * maxY)}" y2="${sy(f * maxY)}" stroke="#e5e7eb"/><text x="${PAD.left - 6}" y="${sy(f * maxY) + 4}" text-anchor="end">${escapeHtml(yLabel(f * maxY))}</text>`)
    .join('');
  const ticks = [x0, (x0 + x1) / 2, x1]
    .map((t, i) => `<text x="${sx(t)}" y="${H - 8}" text-anchor="${['start', 'middle', 'end'][i]}">${escapeHtml(new Date(t).toISOString().slice(0, 16).replace('T', ' '))}</text>`)
    .join('');
  const lines = names
    .map((name, i) => {
      const points = report.buckets.flatMap((b) => {
        const counts = b.variants[name];
        const y = counts ? value(counts) : null;
        return y === null ? [] : [`${sx(b.start).toFixed(1)},${sy(y).toFixed(1)}`];
      });
      const colour = COLOURS[i % COLOURS.length];
      const dots = points.map((p) => `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${colour}"/>`).join('');
      return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.join(' ')}"><title>${escapeHtml(name)}</title></polyline>${dots}`;
    })
    .join('');
  return `<figure><figcaption>${escapeHtml(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${escapeHtml(title)}" font-size="11" font-family="system-ui, sans-serif">${grid}${ticks}${lines}</svg></figure>`;
}

const pct = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);

/**
 * The experiment report as one self-contained HTML page (no scripts, no requests): the table
 * `hearth experiments report` prints, and inline SVG plots over time of replies and 👍 share
 * per variant. Served by the core's admin port at `/experiments`.
 */
export function reportPage(report: ExperimentReport): string {
  const maxReplies = Math.max(1, ...report.buckets.flatMap((b) => Object.values(b.variants).map((c) => c.replies)));
  const legend = report.variants
    .map((v, i) => `<span><i style="background:${COLOURS[i % COLOURS.length]}"></i>${escapeHtml(v.variant)}${v.variant === report.promoted ? ' (promoted)' : ''}</span>`)
    .join(' ');
  const rows = report.variants
    .map(
      (v) =>
        `<tr><td>${escapeHtml(v.variant)}</td><td>${v.replies}</td><td>${pct(v.feedback_rate)}</td><td>${v.ups}</td><td>${v.downs}</td>` +
        `<td>${pct(v.up_share.value)} <small>(${pct(v.up_share.low)}–${pct(v.up_share.high)})</small></td>` +
        `<td>${v.latency_ms.p50 ?? '–'}</td><td>${v.latency_ms.p95 ?? '–'}</td><td>${v.tokens_per_second === null ? '–' : v.tokens_per_second.toFixed(1)}</td></tr>`,
    )
    .join('');
  const bucket = report.bucket_ms >= 86_400_000 ? `${report.bucket_ms / 86_400_000} d` : report.bucket_ms >= 3_600_000 ? `${report.bucket_ms / 3_600_000} h` : `${report.bucket_ms / 60_000} min`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearth experiments</title>
<style>body{font:14px system-ui,sans-serif;margin:1.5rem;max-width:760px;color:#111}table{border-collapse:collapse;width:100%}td,th{padding:4px 8px;border-bottom:1px solid #e5e7eb;text-align:right}td:first-child,th:first-child{text-align:left}figure{margin:1.5rem 0}figcaption{font-weight:600;margin-bottom:.25rem}.legend span{margin-right:1rem}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}text{fill:#555}</style>
</head><body>
<h1>Experiments</h1>
<p>${report.promoted ? `Variant <b>${escapeHtml(report.promoted)}</b> is promoted: it answers everyone.` : 'No variant promoted: users are split by the experiment’s weights.'}
From ${new Date(report.since).toISOString()} to ${new Date(report.until).toISOString()}, in buckets of ${bucket}.</p>
<table><thead><tr><th>variant</th><th>replies</th><th>rated</th><th>👍</th><th>👎</th><th>👍 share (95% CI)</th><th>p50 ms</th><th>p95 ms</th><th>tokens/s</th></tr></thead><tbody>${rows}</tbody></table>
<p class="legend">${legend}</p>
${chart('Replies per bucket', report, (c) => c.replies, maxReplies, (y) => String(Math.round(y)))}
${chart('👍 share of rated replies', report, (c) => (c.ups + c.downs === 0 ? null : c.ups / (c.ups + c.downs)), 1, (y) => `${Math.round(100 * y)}%`)}
</body></html>
`;
}
