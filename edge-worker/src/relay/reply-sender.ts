import { backoffMs, parseApiConversationId } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import { log } from '../log.js';
import type { OutboundReply } from '../platforms/outbound.js';
import { adapterOf } from '../platforms/registry.js';
import type { RelayAlarm } from './alarm.js';
import type { ClientApi } from './client-api.js';
import type { RelayCounters } from './counters.js';
import { replyContextOf } from './reply-contexts.js';
import { deferReply, dueReplies, insertReply, markFailed, markPartSent, markRetry, markSent, type OutboxRow } from './outbox.js';
import { markCredentialUsed } from './reply-credentials.js';
import { SendPacer } from './send-pacing.js';

/** Outbound sends: exponential backoff from 1 s to 5 min, then the reply is marked failed. */
const SEND_MAX_ATTEMPTS = 10;
const SEND_BACKOFF_BASE_MS = 1_000;
const SEND_BACKOFF_MAX_MS = 300_000;

export interface ReplySenderDeps {
  sql: SqlStorage;
  counters: RelayCounters;
  config: () => EdgeConfig;
  alarm: RelayAlarm;
  /** API conversations' replies go to the user's devices, not through the outbox. */
  api: ClientApi;
}

/**
 * The outbox's two ends: replies kept once under their idempotency key, and the send loop that
 * gets them to their platforms within its pacing, retrying with backoff.
 */
export class ReplySender {
  private readonly pacer = new SendPacer();
  private flushing: Promise<void> | undefined;
  private flushAgain = false;

  constructor(private readonly deps: ReplySenderDeps) {}

  /**
   * Keeps a reply under its idempotency key, once; returns false for a key seen before. Platforms
   * get it through the outbox; API clients on their streams, at once (nothing waits to be sent).
   * `push`: the core sent it unasked (a question during a turn), so it answers no message.
   */
  store(key: string, reply: OutboundReply, now: number, { createdAt, push = false }: { createdAt?: number | undefined; push?: boolean } = {}): boolean {
    const { sql, api } = this.deps;
    if (insertReply(sql, key, reply, now).duplicate) return false;
    if (parseApiConversationId(reply.conversationId)) {
      markSent(sql, key, now);
      api.announceReply(reply.conversationId, { key, inReplyTo: reply.inReplyTo, text: reply.text, createdAt, buttons: reply.buttons, push });
    }
    return true;
  }

  /** Sends due replies; one loop at a time, so a reply is never being sent twice at once. */
  flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      try {
        let wakeAt: number | undefined;
        do {
          this.flushAgain = false;
          // A sent reply may unblock the next one of its conversation: go again until quiet.
          for (;;) {
            const pass = await this.sendDueReplies();
            if (pass.wakeAt !== undefined) wakeAt = Math.min(wakeAt ?? pass.wakeAt, pass.wakeAt);
            if (!pass.again) break;
          }
        } while (this.flushAgain);
        // Only a reply held back (paced, retried) needs the alarm; a sent one needs nothing more.
        if (wakeAt !== undefined) await this.deps.alarm.needBy(wakeAt);
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /**
   * One pass over due replies, one part each (a long reply goes part by part, resuming after the
   * last part delivered), within the platform's pacing. The heads of different conversations go
   * out together: each conversation's order holds, as only its oldest unsent reply is due.
   * Returns whether another pass may find more (a part or a reply unblocked), and when the
   * earliest reply held back is due again.
   */
  private async sendDueReplies(): Promise<{ again: boolean; wakeAt: number | undefined }> {
    const config = this.deps.config();
    const outcomes = await Promise.all(dueReplies(this.deps.sql, Date.now()).map((row) => this.sendReply(row, config)));
    let again = false;
    let wakeAt: number | undefined;
    for (const outcome of outcomes) {
      if (outcome === 'sent_more') again = true;
      else if (typeof outcome === 'number') wakeAt = Math.min(wakeAt ?? outcome, outcome);
    }
    return { again, wakeAt };
  }

  /** Sends one part of a due reply: `sent_more` when another is due behind it, the time it waits until when held back. */
  private async sendReply(row: OutboxRow, config: EdgeConfig): Promise<'sent' | 'sent_more' | 'failed' | number> {
    const { sql, counters } = this.deps;
    const fields = { key: row.key, conversation_id: row.conversationId, attempt: row.attempts + 1 };
    const adapter = adapterOf(config, row.conversationId);
    if (!adapter) {
      markFailed(sql, row.key, Date.now(), 'its platform is not set up at this edge');
      log('error', 'reply_failed', { ...fields, error: 'platform not set up' });
      return row.more ? 'sent_more' : 'failed';
    }
    const parts = adapter.parts(row);
    const part = { index: row.partsSent, count: parts.length, text: parts[row.partsSent] ?? '' };
    const wait = this.pacer.wait(adapter.platform, row.conversationId, adapter.pacing(row.conversationId, config), Date.now());
    if (wait > 0) {
      deferReply(sql, row.key, Date.now() + wait);
      return Date.now() + wait;
    }
    this.pacer.record(adapter.platform, row.conversationId, Date.now());
    const context = adapter.usesReplyContext ? replyContextOf(sql, row) : undefined;
    const outcome = await adapter.sendPart(context ? { ...row, context } : row, part, config);
    const partFields = parts.length > 1 ? { ...fields, part: part.index + 1, parts: parts.length } : fields;
    if (outcome.ok) {
      if (row.credential && !row.credential.used && row.inReplyTo) markCredentialUsed(sql, row.inReplyTo);
      if (part.index + 1 < parts.length) {
        markPartSent(sql, row.key);
        return 'sent_more';
      }
      markSent(sql, row.key, Date.now());
      counters.add('replies_sent');
      log('info', 'reply_sent', partFields);
      return row.more ? 'sent_more' : 'sent';
    }
    if (!outcome.retryable || row.attempts + 1 >= SEND_MAX_ATTEMPTS) {
      markFailed(sql, row.key, Date.now(), outcome.description);
      counters.add('replies_failed');
      log('error', 'reply_failed', { ...partFields, status: outcome.status, error: outcome.description });
      return row.more ? 'sent_more' : 'failed';
    }
    const backoff = backoffMs(row.attempts, { baseMs: SEND_BACKOFF_BASE_MS, capMs: SEND_BACKOFF_MAX_MS, jitter: 'half' });
    const delay = Math.max(backoff, outcome.retryAfterMs ?? 0);
    markRetry(sql, row.key, Date.now() + delay, outcome.description, outcome.status !== 429);
    counters.add(outcome.status === 429 ? 'sends_rate_limited' : 'sends_retried');
    log('warn', 'reply_retry', { ...partFields, status: outcome.status, delay_ms: Math.round(delay) });
    return Date.now() + delay;
  }
}
