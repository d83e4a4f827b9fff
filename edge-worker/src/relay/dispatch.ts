import { deadLetter, inFlightBySession, markInFlight, selectDeliverable, type Deliverable } from './queue.js';
import type { Session } from './session.js';

export interface LiveSession {
  ws: WebSocket;
  session: Session;
}

export interface DispatchLimits {
  ackTimeoutMs: number;
  maxAttempts: number;
}

/** How far down the queue one pass looks for conversations it can hand out. */
const SCAN_LIMIT = 1_000;

interface Slot extends LiveSession {
  free: number;
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
 * Returns what it delivered and what it dead-lettered, for logs.
 */
export interface DispatchInput {
  sql: SqlStorage;
  sessions: LiveSession[];
  limits: DispatchLimits;
  now: number;
  deliver: (slot: LiveSession, item: Deliverable) => void;
}

export function dispatch(input: DispatchInput): { delivered: number; dead: Deliverable[] } {
  let delivered = 0;
  const dead: Deliverable[] = [];
  // A dead-lettered head uncovers the next message of its conversation: look again.
  for (;;) {
    const pass = dispatchPass(input);
    delivered += pass.delivered;
    dead.push(...pass.dead);
    if (pass.dead.length === 0) return { delivered, dead };
  }
}

function dispatchPass({ sql, sessions, limits, now, deliver }: DispatchInput): { delivered: number; dead: Deliverable[] } {
  const inFlight = inFlightBySession(sql);
  const slots: Slot[] = sessions.map((s) => ({ ...s, free: s.session.window - (inFlight.get(s.session.sessionId) ?? 0) }));
  const byCore = new Map<string, Slot[]>();
  for (const slot of slots) byCore.set(slot.session.coreId, [...(byCore.get(slot.session.coreId) ?? []), slot]);

  let capacity = slots.reduce((n, s) => n + Math.max(0, s.free), 0);
  let delivered = 0;
  const dead: Deliverable[] = [];
  if (slots.length === 0) return { delivered, dead };

  for (const item of selectDeliverable(sql, SCAN_LIMIT)) {
    if (capacity === 0 && !item.press) continue;
    if (item.attempts >= limits.maxAttempts) {
      deadLetter(sql, item.seq, 'max_attempts', now);
      dead.push(item);
      continue;
    }
    if (item.press) {
      const slot = pressSlot(item, slots, byCore);
      if (!slot) continue;
      markInFlight(sql, item, slot.session, now, now + limits.ackTimeoutMs);
      delivered++;
      deliver(slot, item);
      continue;
    }
    const pinned = item.affinity ? byCore.get(item.affinity) : undefined;
    // Unpinned redeliveries prefer another core than the one that last held them.
    const others = slots.filter((s) => s.session.coreId !== item.last_core && s.free > 0);
    const slot = mostFree(pinned ?? (others.length > 0 ? others : slots));
    // Pinned to a busy core: wait for it rather than move a warm conversation.
    if (!slot || slot.free <= 0) continue;
    markInFlight(sql, item, slot.session, now, now + limits.ackTimeoutMs);
    slot.free--;
    capacity--;
    delivered++;
    deliver(slot, item);
  }
  return { delivered, dead };
}

/** Where a press goes: the holder of the turn that asked, else the conversation's core, else any. */
function pressSlot(item: Deliverable, slots: Slot[], byCore: Map<string, Slot[]>): Slot | undefined {
  const holder = item.holder ? slots.find((s) => s.session.sessionId === item.holder) : undefined;
  return holder ?? mostFree((item.affinity ? byCore.get(item.affinity) : undefined) ?? slots);
}

function mostFree(slots: Slot[]): Slot | undefined {
  return slots.reduce<Slot | undefined>((best, s) => (!best || s.free > best.free ? s : best), undefined);
}
