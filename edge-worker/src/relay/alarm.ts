import type { EdgeConfig } from '../config.js';
import { nextDueAt } from './outbox.js';
import { queueTimes } from './queue.js';

/**
 * The Relay's one alarm, armed for the earliest thing that needs time to pass: a reply held
 * back, an ack deadline, a message's expiry, and (while cores are connected) the next look for
 * silent ones. When it rings, the sweep arms it again for whatever is next.
 */
export class RelayAlarm {
  private armedAt: number | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: SqlStorage,
    private readonly config: () => EdgeConfig,
  ) {}

  /** It rang: nothing is armed until the sweep arms it again. */
  rang(): void {
    this.armedAt = undefined;
  }

  /**
   * Something needs the alarm by `at`: nothing to do when it is armed for then or sooner, else it
   * is armed afresh.
   */
  needBy(at: number): Promise<void> {
    if (this.armedAt !== undefined && this.armedAt <= at && this.armedAt > Date.now()) return Promise.resolve();
    return this.arm();
  }

  /** Arms the alarm for the earliest thing that needs time to pass. */
  async arm(): Promise<void> {
    const { delivery } = this.config();
    const { nextDeadline, oldestPending } = queueTimes(this.sql);
    const candidates = [
      nextDueAt(this.sql),
      nextDeadline,
      oldestPending === null ? null : oldestPending + delivery.queueTtlMs,
      // While cores are connected, look for silent ones once per heartbeat.
      this.ctx.getWebSockets('core').length > 0 ? Date.now() + delivery.heartbeatMs : null,
    ].filter((t): t is number => typeof t === 'number');
    if (candidates.length === 0) return;
    const at = Math.max(Math.min(...candidates), Date.now());
    if (this.armedAt !== undefined && this.armedAt <= at && this.armedAt > Date.now()) return;
    this.armedAt = at;
    await this.ctx.storage.setAlarm(at);
  }
}
