import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { deferReply, dueReplies, insertReply, markSent, nextDueAt } from '../src/relay/outbox.js';
import { freshRelay } from './helpers.js';

const reply = (conversationId: string, n: number) => ({ conversationId, inReplyTo: `${conversationId}:${n}`, text: `reply ${n}` });

describe('the outbox queue of each conversation', () => {
  it('wakes the alarm for conversation heads only: a reply behind a paced one is not due', async () => {
    const { stub } = freshRelay('outbox');
    await runInDurableObject(stub, (_relay, state) => {
      const sql = state.storage.sql;
      const now = 1_000_000;
      for (const n of [1, 2, 3]) insertReply(sql, `k${n}`, reply('telegram:1', n), now);
      // The head is paced a second away; the two behind it were stored at `now` but cannot overtake it.
      deferReply(sql, 'k1', now + 1_000);
      expect(dueReplies(sql, now).map((r) => r.key)).toEqual([]);
      expect(nextDueAt(sql)).toBe(now + 1_000);

      // Another conversation's head is due now, and only it.
      insertReply(sql, 'other', reply('telegram:2', 1), now);
      expect(nextDueAt(sql)).toBe(now);
      markSent(sql, 'other', now);

      // Once the head goes, the next in line is due as stored.
      markSent(sql, 'k1', now + 1_000);
      expect(nextDueAt(sql)).toBe(now);
      expect(dueReplies(sql, now + 1_000).map((r) => r.key)).toEqual(['k2']);
    });
  });
});
