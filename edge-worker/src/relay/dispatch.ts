import type { Entry, Lane, QueueIndex } from './queue-index.js';
import type { Session } from './session.js';

export interface LiveSession {
  ws: WebSocket;
  session: Session;
}

export interface DispatchLimits {
  ackTimeoutMs: number;
  maxAttempts: number;
}

interface Slot extends LiveSession {
  free: number;
}

/** A message handed out: where it went, what it is (attempts already counted) and its sealed body. */
export interface Delivery {
  slot: LiveSession;
  entry: Entry;
  sealed: string;
}

export interface DispatchInput {
  queue: QueueIndex;
  sessions: LiveSession[];
  limits: DispatchLimits;
  now: number;
  deliver: (delivery: Delivery) => void;
}

/**
 * Hands queued messages to ready cores. Rules, in order:
 * - a core never holds more unacked deliveries than its window;
 * - a conversation stays with the core it last went to while that core is connected, and
 *   waits for it when it is busy (its context is warm there);
 * - a conversation without a live core goes to the core with the most free credits (spread);
 * - a message delivered `maxAttempts` times is dead-lettered instead;
 * - a press (an approval's Run/Skip) goes to the session holding its conversation's turn (which
 *   waits for it), else where the conversation lives, else anywhere, whatever the windows say:
 *   it takes no sequence, and waiting for a credit would wait for the turn it unblocks.
 *
 * Each message handed out costs the same however long the queue is: ready conversations wait
 * in the pool of their core (queue-index.ts), so a pass looks only at the pools' first lanes.
 * Returns what it delivered and what it dead-lettered, for logs.
 */
export function dispatch({ queue, sessions, limits, now, deliver }: DispatchInput): { delivered: number; dead: Entry[] } {
  const slots: Slot[] = sessions.map((s) => ({ ...s, free: s.session.window - queue.inFlightOf(s.session.sessionId) }));
  const dead: Entry[] = [];
  let delivered = 0;
  if (slots.length === 0) return { delivered, dead };
  const byCore = new Map<string, Slot[]>();
  for (const slot of slots) byCore.set(slot.session.coreId, [...(byCore.get(slot.session.coreId) ?? []), slot]);
  const handOut = (entry: Entry, slot: Slot) => {
    const sealed = queue.deliver(entry, slot.session, now, now + limits.ackTimeoutMs);
    delivered++;
    deliver({ slot, entry, sealed });
  };
  /** A head delivered too often goes to the dead letters; true when it did. */
  const spent = (entry: Entry) => {
    if (entry.attempts < limits.maxAttempts) return false;
    queue.deadLetter(entry, 'max_attempts', now);
    dead.push(entry);
    return true;
  };

  for (const lane of [...queue.presses]) {
    // A spent head uncovers the next press of its lane.
    let head = lane.entries[0];
    while (head && spent(head)) head = lane.entries[0];
    const slot = head && pressSlot(queue, lane, slots, byCore);
    if (head && slot) handOut(head, slot);
  }

  for (;;) {
    const next = nextLane(queue, byCore);
    if (!next) break;
    const head = next.lane.entries[0];
    if (!head) break;
    if (spent(head)) continue;
    // Unpinned redeliveries prefer another core than the one that last held them.
    const free = slots.filter((s) => s.free > 0);
    const others = free.filter((s) => s.session.coreId !== head.lastCore);
    const slot = mostFree(next.pinned ?? (others.length > 0 ? others : free));
    if (!slot || slot.free <= 0) break;
    handOut(head, slot);
    slot.free--;
  }
  return { delivered, dead };
}

/**
 * The oldest ready lane some core can take now: the first of the pool of each connected core
 * with a free slot, and of the unpinned pools ('' and cores not connected) while any slot is
 * free. Pinned to a busy core, a conversation waits for it rather than move.
 */
function nextLane(queue: QueueIndex, byCore: Map<string, Slot[]>): { lane: Lane; pinned: Slot[] | undefined } | undefined {
  const anyFree = [...byCore.values()].some((slots) => slots.some((s) => s.free > 0));
  let best: { lane: Lane; pinned: Slot[] | undefined; seq: number } | undefined;
  for (const [core, pool] of queue.pools) {
    const pinned = byCore.get(core);
    if (pinned ? !pinned.some((s) => s.free > 0) : !anyFree) continue;
    const lane = first(pool);
    const seq = lane?.entries[0]?.seq;
    if (lane && seq !== undefined && (!best || seq < best.seq)) best = { lane, pinned, seq };
  }
  return best;
}

function first<T>(set: Set<T>): T | undefined {
  for (const item of set) return item;
  return undefined;
}

/** Where a press goes: the holder of the turn that asked, else the conversation's core, else any. */
function pressSlot(queue: QueueIndex, lane: Lane, slots: Slot[], byCore: Map<string, Slot[]>): Slot | undefined {
  const holder = queue.heldIn(lane.conversationId)?.sessionId;
  const holding = holder ? slots.find((s) => s.session.sessionId === holder) : undefined;
  const affinity = queue.affinityOf(lane.conversationId);
  return holding ?? mostFree((affinity ? byCore.get(affinity) : undefined) ?? slots);
}

function mostFree(slots: Slot[]): Slot | undefined {
  return slots.reduce<Slot | undefined>((best, s) => (!best || s.free > best.free ? s : best), undefined);
}
