import type { EdgeConfig } from '../config.js';
import { describeError, log } from '../log.js';
import type { RelayAlarm } from './alarm.js';
import type { CompletionStreams } from './completions.js';
import type { CoreSockets } from './core-sockets.js';
import type { RelayCounters } from './counters.js';
import { dispatch } from './dispatch.js';
import type { EnqueueOutcome, Envelope } from './queue.js';
import type { QueueIndex } from './queue-index.js';

export interface DeliveryDeps {
  queue: QueueIndex;
  counters: RelayCounters;
  config: () => EdgeConfig;
  cores: CoreSockets;
  alarm: RelayAlarm;
  /** A redelivered completion whose text already reached its caller is ended here. */
  completions: CompletionStreams;
}

/** Messages into the queue and out to the cores: storing, the coalesced pump, and `/stop`. */
export class Delivery {
  /** A pump is due at the end of this turn: several events in one turn share it. */
  private pumpQueued = false;

  constructor(private readonly deps: DeliveryDeps) {}

  /**
   * Queues a message (counted by outcome); `stops`: it is a `/stop`, so the core generating this
   * conversation's reply is told at once (the message itself waits its turn like any other).
   * `press`: it goes in the conversation's press lane (queue.ts). A stored message then needs
   * `queued`, once its announcement (if any) went out.
   */
  store(envelope: Envelope, now: number, { press = false, stops = false }: { press?: boolean; stops?: boolean } = {}): EnqueueOutcome {
    const { queue, counters, config } = this.deps;
    const { delivery } = config();
    const outcome = queue.insert(envelope, now, delivery, { press });
    if (outcome === 'full') log('warn', 'queue_full', { message_id: envelope.message_id, max: delivery.queueMax });
    counters.add(`messages_${outcome}`);
    if (outcome === 'stored' && stops) this.cancelInFlight(envelope.conversation_id);
    return outcome;
  }

  /** A message was stored at `now`: deliver it, and expire it if it waits too long. */
  queued(now: number): Promise<void> {
    this.pump();
    return this.deps.alarm.needBy(now + this.deps.config().delivery.queueTtlMs);
  }

  /** Tells the core working on a conversation's message to stop (a `/stop` arrived). */
  cancelInFlight(conversationId: string): void {
    const { queue, cores } = this.deps;
    const inFlight = queue.heldIn(conversationId);
    if (!inFlight?.sessionId) return;
    const holder = cores.holder(inFlight.sessionId);
    if (!holder) return;
    cores.send(holder.ws, { type: 'cancel', message_id: inFlight.messageId });
    log('info', 'generation_cancelled', { message_id: inFlight.messageId, core_id: holder.session.coreId });
  }

  /**
   * Delivers queued messages to ready cores at the end of this turn (see dispatch.ts for the
   * rules): the events of one turn (an ack, a credit, a message) share one pass.
   */
  pump(): void {
    if (this.pumpQueued) return;
    this.pumpQueued = true;
    queueMicrotask(() => {
      this.pumpQueued = false;
      try {
        this.pumpNow();
      } catch (error) {
        // Whatever went wrong, the index is rebuilt from the table: the next pump starts from the truth.
        log('error', 'relay_pump_failed', { error: describeError(error) });
        this.deps.queue.reload();
      }
    });
  }

  private pumpNow(): void {
    const { queue, counters, cores, completions, alarm } = this.deps;
    const ready = cores.list().filter(({ ws, session }) => session.ready && ws.readyState === WebSocket.OPEN);
    if (ready.length === 0) return;
    const now = Date.now();
    const { delivery } = this.deps.config();
    const { delivered, dead } = dispatch({
      queue,
      sessions: ready,
      limits: delivery,
      now,
      deliver: ({ slot, entry, sealed }) => {
        // Attempts count this one already: more than one is a redelivery.
        counters.add(entry.attempts > 1 ? 'redeliveries' : 'deliveries');
        // Text of the first attempt already reached the caller: another core would start over.
        if (entry.attempts > 1 && completions.streamed(entry.messageId)) {
          completions.end(entry.messageId, { type: 'error', code: 'core_lost', message: 'the core answering this went away; retry the request' });
        }
        cores.send(slot.ws, {
          type: 'deliver',
          message_id: entry.messageId,
          conversation_id: entry.conversationId,
          attempt: entry.attempts,
          sealed,
          ...(entry.press ? { press: true as const } : {}),
        });
      },
    });
    for (const item of dead) log('error', 'dead_lettered', { message_id: item.messageId, reason: 'max_attempts', attempts: item.attempts });
    counters.add('dead_lettered', dead.length);
    if (delivered > 0) {
      alarm.needBy(now + delivery.ackTimeoutMs).catch((error: unknown) => log('error', 'relay_alarm_not_armed', { error: describeError(error) }));
    }
  }
}
