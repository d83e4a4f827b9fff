import type { EdgeFrameBody } from '@hearth/shared';
import type { LiveSession } from './dispatch.js';

/** What of the Relay a request to a core uses (embeddings, note searches). */
export interface CoreRequestHost {
  /** Connected cores that answer API clients, with open sockets. */
  cores(): LiveSession[];
  send(ws: WebSocket, frame: EdgeFrameBody): void;
  timeoutMs(): number;
}

/**
 * Requests the Relay sent to a core and waits on (history), by request id: each is answered
 * once, by the core's frame, by its timeout, or by the end of the session it went to.
 */
export class PendingRequests<T> {
  private readonly waiting = new Map<string, { sessionId: string; settle: (outcome: T) => void; timer: ReturnType<typeof setTimeout> }>();

  /** Waits for the answer to `requestId`, sent on `sessionId`; `onTimeout` gives the outcome if none comes. */
  wait(requestId: string, sessionId: string, timeoutMs: number, onTimeout: () => T): Promise<T> {
    return new Promise<T>((resolve) => {
      const timer = setTimeout(() => this.settle(requestId, onTimeout()), timeoutMs);
      this.waiting.set(requestId, { sessionId, settle: resolve, timer });
    });
  }

  /** Answers a request; false when nobody waits for it (late, or unknown). */
  settle(requestId: string, outcome: T): boolean {
    const entry = this.waiting.get(requestId);
    if (!entry) return false;
    clearTimeout(entry.timer);
    this.waiting.delete(requestId);
    entry.settle(outcome);
    return true;
  }

  /** Answers every request sent on a session that ended: it will never reply. */
  settleSession(sessionId: string, outcome: T): void {
    for (const [requestId, entry] of this.waiting) if (entry.sessionId === sessionId) this.settle(requestId, outcome);
  }
}

/** Why a request to a core has no answer. */
export type CoreRefusal = { ok: false; code: 'core_offline' | 'core_timeout' | 'core_error'; message: string };

/**
 * Sends `request` (given its request id) to the first connected core and waits for its answer
 * in `pending`; `offline` says what no core means to the caller.
 */
export function askCore<T>(host: CoreRequestHost, pending: PendingRequests<T | CoreRefusal>, offline: string, request: (requestId: string) => EdgeFrameBody): Promise<T | CoreRefusal> {
  const core = host.cores()[0];
  if (!core) return Promise.resolve({ ok: false, code: 'core_offline', message: offline });
  const timeoutMs = host.timeoutMs();
  const requestId = crypto.randomUUID();
  const answer = pending.wait(requestId, core.session.sessionId, timeoutMs, () => ({ ok: false, code: 'core_timeout', message: `the core did not answer within ${timeoutMs} ms` }));
  host.send(core.ws, request(requestId));
  return answer;
}
