import { parseApiConversationId, type DeliveryLimits } from '@hearth/shared';
import { ackMessage, deadLetter, knownMessage, markInFlight, type EnqueueOutcome, type Envelope } from './queue.js';

/**
 * The pending part of the queue, in memory, so that handing out a message, acking it and
 * admitting a new one cost the same however long the queue is: the table stays the truth (and
 * holds the sealed bodies), this is rebuilt from it on wake and after bulk changes (a session
 * ends, deadlines pass, messages expire), and kept in step with each write on the hot path.
 *
 * A lane is one conversation's messages (or its presses), in order; it is ready when it has a
 * head and nothing in flight. Ready lanes wait in the pool of the core they are pinned to
 * (affinity), '' for none, in the order they became ready: that order is the fairness between
 * conversations, as arrival order was when the queue was scanned.
 */
export interface Entry {
  seq: number;
  messageId: string;
  conversationId: string;
  press: boolean;
  attempts: number;
  /** The core that last held it (a redelivery prefers another). */
  lastCore: string | null;
  /** The session holding it in flight, if any. */
  sessionId: string | null;
  /** Its ack deadline while in flight (ms). */
  deadlineAt: number | null;
}

export interface Lane {
  readonly key: string;
  readonly conversationId: string;
  readonly press: boolean;
  readonly entries: Entry[];
  /** For a message lane, the pool it waits in while ready (see `pools`). */
  pool: string | undefined;
}

/** Of the table, what the index needs of one pending message. */
interface PendingRow extends Record<string, SqlStorageValue> {
  seq: number;
  message_id: string;
  conversation_id: string;
  press: number;
  attempts: number;
  core_id: string | null;
  session_id: string | null;
  deadline_at: number | null;
  affinity: string | null;
}

const laneKey = (conversationId: string, press: boolean) => `${press ? 'p' : 'm'}:${conversationId}`;

/**
 * Whose share of the queue a message takes, read from its conversation id (the edge keeps no
 * sender beside the sealed message): an API user's conversations together, else the chat, a
 * group counting as one sender however many people write in it.
 */
function senderOf(conversationId: string): string {
  const api = parseApiConversationId(conversationId);
  return api ? `api:${api.user}:` : conversationId;
}

export class QueueIndex {
  private readonly byId = new Map<string, Entry>();
  private readonly lanes = new Map<string, Lane>();
  /** Core each conversation with pending messages is pinned to. */
  private readonly affinity = new Map<string, string>();
  /** Deliveries in flight per session, against its window (presses are outside it). */
  private readonly inFlight = new Map<string, number>();
  private readonly perSender = new Map<string, number>();
  /** Ready message lanes by the core they are pinned to ('' for none), each in the order they became ready. */
  readonly pools = new Map<string, Set<Lane>>();
  /** Ready press lanes: delivered whatever the windows say. */
  readonly presses = new Set<Lane>();

  constructor(private readonly sql: SqlStorage) {
    this.reload();
  }

  /** Rebuilds the index from the table: one read of the pending rows. */
  reload(): void {
    for (const map of [this.byId, this.lanes, this.affinity, this.inFlight, this.perSender, this.pools]) map.clear();
    this.presses.clear();
    const rows = this.sql
      .exec<PendingRow>(
        `SELECT m.seq, m.message_id, m.conversation_id, m.press, m.attempts, m.core_id, m.session_id, m.deadline_at, a.core_id AS affinity
           FROM messages m LEFT JOIN affinity a ON a.conversation_id = m.conversation_id
          WHERE m.acked_at IS NULL AND m.dead_at IS NULL ORDER BY m.seq`,
      )
      .toArray();
    for (const row of rows) {
      if (row.affinity) this.affinity.set(row.conversation_id, row.affinity);
      this.add({
        seq: row.seq,
        messageId: row.message_id,
        conversationId: row.conversation_id,
        press: row.press === 1,
        attempts: row.attempts,
        lastCore: row.core_id,
        sessionId: row.session_id,
        deadlineAt: row.deadline_at,
      });
    }
    for (const lane of this.lanes.values()) this.settle(lane);
  }

  get pending(): number {
    return this.byId.size;
  }

  inFlightOf(sessionId: string): number {
    return this.inFlight.get(sessionId) ?? 0;
  }

  inFlightTotal(): number {
    let total = 0;
    for (const n of this.inFlight.values()) total += n;
    return total;
  }

  affinityOf(conversationId: string): string | undefined {
    return this.affinity.get(conversationId);
  }

  /** The message of a conversation a core is working on now (its message lane's head in flight). */
  heldIn(conversationId: string): Entry | undefined {
    const head = this.lanes.get(laneKey(conversationId, false))?.entries[0];
    return head?.sessionId ? head : undefined;
  }

  /** A pending message, if it is one. */
  entry(messageId: string): Entry | undefined {
    return this.byId.get(messageId);
  }

  /**
   * Stores a message unless its id is known already (a platform retry: `duplicate`, whatever
   * the queue's state), the queue holds `queueMax` pending messages, or its sender already holds
   * `queueMaxPerSender` of them: one sender filling the queue would otherwise refuse everyone
   * else (they get 503 + Retry-After; the others are still accepted). Admission is judged from
   * memory: one statement stores the message and reads its conversation's affinity.
   */
  insert(
    envelope: Envelope,
    now: number,
    limits: Pick<DeliveryLimits, 'queueMax' | 'queueMaxPerSender'>,
    { press = false }: { press?: boolean } = {},
  ): EnqueueOutcome {
    if (this.byId.has(envelope.message_id)) return 'duplicate';
    const sender = senderOf(envelope.conversation_id);
    if (this.byId.size >= limits.queueMax || (this.perSender.get(sender) ?? 0) >= limits.queueMaxPerSender) {
      return knownMessage(this.sql, envelope.message_id) ? 'duplicate' : 'full';
    }
    const row = this.sql
      .exec<{ seq: number; affinity: string | null }>(
        `INSERT INTO messages (message_id, conversation_id, sealed, enqueued_at, press) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (message_id) DO NOTHING
         RETURNING seq, (SELECT core_id FROM affinity WHERE conversation_id = ?) AS affinity`,
        envelope.message_id,
        envelope.conversation_id,
        envelope.sealed,
        now,
        press ? 1 : 0,
        envelope.conversation_id,
      )
      .toArray()[0];
    if (!row) return 'duplicate';
    if (row.affinity) this.affinity.set(envelope.conversation_id, row.affinity);
    const lane = this.add({
      seq: row.seq,
      messageId: envelope.message_id,
      conversationId: envelope.conversation_id,
      press,
      attempts: 0,
      lastCore: null,
      sessionId: null,
      deadlineAt: null,
    });
    this.settle(lane);
    return 'stored';
  }

  /** Completes a message (see ackMessage); false when it was not pending. */
  ack(messageId: string, now: number): boolean {
    if (!ackMessage(this.sql, messageId, now)) return false;
    const entry = this.byId.get(messageId);
    if (entry) this.remove(entry);
    else this.reload();
    return true;
  }

  /** Hands a lane's head to a session; returns its sealed body (one statement, plus the affinity when it moves). */
  deliver(entry: Entry, session: { sessionId: string; coreId: string }, now: number, deadline: number): string {
    const affinity = this.affinity.get(entry.conversationId) ?? null;
    const sealed = markInFlight(this.sql, { seq: entry.seq, conversation_id: entry.conversationId, affinity }, session, now, deadline);
    entry.attempts++;
    entry.lastCore = session.coreId;
    entry.sessionId = session.sessionId;
    entry.deadlineAt = deadline;
    if (!entry.press) this.inFlight.set(session.sessionId, this.inFlightOf(session.sessionId) + 1);
    if (affinity !== session.coreId) this.affinity.set(entry.conversationId, session.coreId);
    const lane = this.lanes.get(laneKey(entry.conversationId, entry.press));
    if (lane) this.settle(lane);
    return sealed;
  }

  /** Takes a lane's head out of delivery for good (see deadLetter). */
  deadLetter(entry: Entry, reason: string, now: number): void {
    deadLetter(this.sql, entry.seq, reason, now);
    this.remove(entry);
  }

  private add(entry: Entry): Lane {
    const key = laneKey(entry.conversationId, entry.press);
    let lane = this.lanes.get(key);
    if (!lane) {
      lane = { key, conversationId: entry.conversationId, press: entry.press, entries: [], pool: undefined };
      this.lanes.set(key, lane);
    }
    lane.entries.push(entry);
    this.byId.set(entry.messageId, entry);
    const sender = senderOf(entry.conversationId);
    this.perSender.set(sender, (this.perSender.get(sender) ?? 0) + 1);
    if (entry.sessionId && !entry.press) this.inFlight.set(entry.sessionId, this.inFlightOf(entry.sessionId) + 1);
    return lane;
  }

  private remove(entry: Entry): void {
    this.byId.delete(entry.messageId);
    const sender = senderOf(entry.conversationId);
    const left = (this.perSender.get(sender) ?? 1) - 1;
    if (left > 0) this.perSender.set(sender, left);
    else this.perSender.delete(sender);
    if (entry.sessionId && !entry.press) {
      const held = this.inFlightOf(entry.sessionId) - 1;
      if (held > 0) this.inFlight.set(entry.sessionId, held);
      else this.inFlight.delete(entry.sessionId);
    }
    const lane = this.lanes.get(laneKey(entry.conversationId, entry.press));
    if (!lane) return;
    // The head, almost always: only heads are delivered, and a message is acked once delivered.
    const at = lane.entries.indexOf(entry);
    if (at >= 0) lane.entries.splice(at, 1);
    this.settle(lane);
  }

  /** Puts a lane where its state says: in a pool (or the presses) while its head waits, out of them otherwise. */
  private settle(lane: Lane): void {
    const head = lane.entries[0];
    const ready = head !== undefined && head.sessionId === null;
    if (lane.press) {
      if (ready) this.presses.add(lane);
      else this.presses.delete(lane);
    } else {
      const pool = ready ? (this.affinity.get(lane.conversationId) ?? '') : undefined;
      if (pool !== lane.pool) {
        if (lane.pool !== undefined) this.pools.get(lane.pool)?.delete(lane);
        if (pool !== undefined) {
          let set = this.pools.get(pool);
          if (!set) {
            set = new Set();
            this.pools.set(pool, set);
          }
          set.add(lane);
        }
        lane.pool = pool;
      }
    }
    if (head) return;
    this.lanes.delete(lane.key);
    if (!this.lanes.has(laneKey(lane.conversationId, !lane.press))) this.affinity.delete(lane.conversationId);
  }
}
