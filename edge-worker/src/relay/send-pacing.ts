import type { Pacing } from '../platforms/outbound.js';
import { RecentTimes } from './recent-times.js';

/** Conversations not sent to for this long are forgotten (their spacing has long passed). */
const FORGET_AFTER_MS = 10 * 60_000;

/**
 * Keeps sends within a platform's rate limits: at least `intervalMs` between two sends into one
 * conversation, at most `maxPerSecond` sends a second per platform. The outbox asks `wait`
 * before each send and defers the reply by that much (queued, never dropped). In memory: the
 * Relay is the only sender, and after a restart the worst case is one send early.
 */
export class SendPacer {
  private readonly lastSend = new RecentTimes(FORGET_AFTER_MS);
  /** Per platform, the times of sends in the last second, oldest first. */
  private readonly recent = new Map<string, number[]>();

  /** Milliseconds to hold off before sending into `conversationId`; 0 when it may go now. */
  wait(platform: string, conversationId: string, pacing: Pacing, now: number): number {
    const sinceLast = now - (this.lastSend.get(conversationId) ?? Number.NEGATIVE_INFINITY);
    const perConversation = Math.max(0, pacing.intervalMs - sinceLast);
    const window = this.window(platform, now);
    const overall = window.length >= pacing.maxPerSecond ? (window[window.length - pacing.maxPerSecond] ?? now) + 1_000 - now : 0;
    return Math.max(perConversation, overall);
  }

  record(platform: string, conversationId: string, now: number): void {
    this.lastSend.set(conversationId, now);
    this.window(platform, now).push(now);
  }

  /** The platform's sends within the last second (older ones dropped). */
  private window(platform: string, now: number): number[] {
    let times = this.recent.get(platform);
    if (!times) {
      times = [];
      this.recent.set(platform, times);
    }
    const firstInWindow = times.findIndex((t) => now - t < 1_000);
    times.splice(0, firstInWindow === -1 ? times.length : firstInWindow);
    return times;
  }
}
