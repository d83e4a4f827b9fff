/** How a check came out: `warn` works but deserves a look, `fail` stops Hearth from working. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One line of `hearth doctor`, as `--json` prints it. */
export interface CheckResult {
  /** Stable id for programs: node, settings, plugins, key, model, gpu, redis, edge, clock, tunnel. */
  check: string;
  /** For people. */
  name: string;
  status: CheckStatus;
  /** What was found, in one line. */
  finding: string;
  /** How to fix it; present whenever status is not ok. */
  fix?: string;
}

export const ok = (check: string, name: string, finding: string): CheckResult => ({ check, name, status: 'ok', finding });
export const warn = (check: string, name: string, finding: string, fix: string): CheckResult => ({ check, name, status: 'warn', finding, fix });
export const fail = (check: string, name: string, finding: string, fix: string): CheckResult => ({ check, name, status: 'fail', finding, fix });

/**
 * Tunnel JWTs are accepted 30 s either side of the edge's clock: past that the tunnel fails.
 * Past a third of it we warn, while there is still room.
 */
export const SKEW_WARN_MS = 10_000;
export const SKEW_FAIL_MS = 30_000;

/**
 * The edge's clock minus ours, in ms, from its HTTP `Date` header and when we sent the request
 * and got the answer. The header has whole seconds, and was stamped somewhere within the round
 * trip, so only the part of the offset no such timing explains counts: 0 when the clocks could
 * agree. Undefined when the header is missing or unreadable.
 *
 * @example clockSkewMs('Tue, 01 Jul 2025 00:00:40 GMT', Date.UTC(2025, 6, 1), Date.UTC(2025, 6, 1) + 200) // 40_000 - 200
 */
export function clockSkewMs(dateHeader: string | null | undefined, sentAt: number, receivedAt: number): number | undefined {
  if (!dateHeader) return undefined;
  const stamped = Date.parse(dateHeader);
  if (Number.isNaN(stamped)) return undefined;
  // The edge's true time at stamping lies in [stamped, stamped + 1 s); ours in [sentAt, receivedAt].
  const least = stamped - receivedAt;
  const most = stamped + 999 - sentAt;
  if (least > 0) return least;
  if (most < 0) return most;
  return 0;
}

/** ok within 10 s, warn up to 30 s, fail past it (the tunnel's tokens would be refused). */
export function classifySkew(skewMs: number): CheckStatus {
  const size = Math.abs(skewMs);
  if (size > SKEW_FAIL_MS) return 'fail';
  if (size > SKEW_WARN_MS) return 'warn';
  return 'ok';
}

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** The checks for people: a mark, the name, what was found, and the fix under it. */
export function formatChecks(results: readonly CheckResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines = results.flatMap((r) => [`${MARK[r.status]} ${r.name.padEnd(width)}  ${r.finding}`, ...(r.fix ? [`  ${' '.repeat(width)}  fix: ${r.fix}`] : [])]);
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  const failures = count('fail');
  lines.push(
    '',
    failures > 0
      ? `${failures} failed, ${count('warn')} to look at, ${count('ok')} ok: fix the failures above, then run hearth doctor again`
      : `all good${count('warn') > 0 ? ` (${count('warn')} to look at)` : ''}: ${count('ok')} ok`,
  );
  return `${lines.join('\n')}\n`;
}
