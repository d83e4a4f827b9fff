/**
 * Reconnect delay with "full jitter": uniform in [0, min(cap, base * 2^attempt)]. Many cores
 * reconnecting after an edge restart spread out instead of arriving in lockstep.
 */
export function backoffDelay(attempt: number, baseMs = 500, capMs = 30_000, random = Math.random): number {
  return Math.round(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
