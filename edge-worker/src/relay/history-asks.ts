import type { HistoryQuery, HistoryResultFrame } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import { log } from '../log.js';
import type { HistoryAnswer } from './clients.js';
import type { CoreSockets } from './core-sockets.js';
import { PendingRequests } from './pending-requests.js';
import type { UnansweredMessages } from './unanswered.js';

export interface HistoryAsksDeps {
  cores: CoreSockets;
  config: () => EdgeConfig;
  /** Messages queued here that no core answered yet: pages of turns hold them too. */
  unanswered: UnansweredMessages;
}

/** Users' history, asked of a connected core (the edge keeps none), and the answers waited on. */
export class HistoryAsks {
  private readonly requests = new PendingRequests<HistoryAnswer>();
  /** Callers waiting for a core that answers history to connect. */
  private readonly coreWaiters = new Set<() => void>();

  constructor(private readonly deps: HistoryAsksDeps) {}

  /**
   * `core_offline` when no core that serves history is connected, `core_timeout` when it does not
   * answer in time. `waitForCore`: wait up to the history timeout for one to connect first (a
   * device that reconnects right after an edge restart often beats the core back).
   */
  async ask(user: string, query: HistoryQuery, { waitForCore = false }: { waitForCore?: boolean } = {}): Promise<HistoryAnswer> {
    const { cores, config, unanswered } = this.deps;
    const { historyTimeoutMs } = config().api;
    let core = cores.openAnswering()[0];
    if (!core && waitForCore) {
      await this.coreConnects(historyTimeoutMs);
      core = cores.openAnswering()[0];
    }
    if (!core) return { ok: false, code: 'core_offline', message: 'no core is connected to answer from its history; try again when it is' };
    const requestId = crypto.randomUUID();
    const answer = this.requests.wait(requestId, core.session.sessionId, historyTimeoutMs, () => ({
      ok: false,
      code: 'core_timeout',
      message: `the core did not answer within ${historyTimeoutMs} ms`,
    }));
    cores.send(core.ws, { type: 'history', request_id: requestId, user, query });
    const answered = await answer;
    if (!answered.ok || query.kind === 'conversations') return answered;
    const conversation = query.kind === 'messages' ? query.conversation_id : undefined;
    return { ...answered, ...unanswered.complete(user, { after: query.after, conversation, limit: query.limit }, answered) };
  }

  /** A core that answers history said hello: whoever waits for one goes on. */
  coreConnected(): void {
    for (const wake of this.coreWaiters) wake();
    this.coreWaiters.clear();
  }

  /** A core's answer to a history request. */
  onResult(frame: HistoryResultFrame): void {
    const answer: HistoryAnswer = frame.ok
      ? { ok: true, items: frame.items ?? [], has_more: frame.has_more ?? false, conversations: frame.conversations ?? [] }
      : { ok: false, code: 'core_error', message: frame.error ?? 'the core could not read its history' };
    if (!this.requests.settle(frame.request_id, answer)) log('warn', 'history_result_unexpected', { request_id: frame.request_id });
  }

  /** A tunnel ended: the history requests sent on it will not be answered. */
  sessionEnded(sessionId: string): void {
    this.requests.settleSession(sessionId, { ok: false, code: 'core_error', message: 'the core disconnected before answering' });
  }

  /** Resolves when a core that answers history connects, or after `ms`. */
  private coreConnects(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.coreWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.coreWaiters.add(done);
    });
  }
}
