import type { EdgeStatus } from '@hearth/shared';
import { pendingPairings } from './access-store.js';
import type { CoreSockets } from './core-sockets.js';
import type { RelayCounters } from './counters.js';
import { unsentCount } from './outbox.js';
import { deadLetterCount } from './queue.js';
import type { QueueIndex } from './queue-index.js';

export interface StatusDeps {
  sql: SqlStorage;
  queue: QueueIndex;
  cores: CoreSockets;
  counters: RelayCounters;
  /** When this object woke: its counters count from then. */
  since: number;
}

/** What `hearth status` shows of the Relay, as of `now`. */
export function relayStatus({ sql, queue, cores, counters, since }: StatusDeps, now: number): EdgeStatus {
  return {
    pending: queue.pending,
    in_flight: queue.inFlightTotal(),
    dead_letters: deadLetterCount(sql),
    outbox_unsent: unsentCount(sql),
    pairing_pending: pendingPairings(sql, now),
    cores: cores.list().map(({ session }) => ({
      core_id: session.coreId,
      window: session.window,
      in_flight: queue.inFlightOf(session.sessionId),
    })),
    since,
    counters: counters.snapshot(),
  };
}
