import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { HistoryStore } from '../../src/memory/history-store.js';
import { answerHistory, HISTORY_RESULT_MAX_BYTES } from '../../src/tunnel/history-answer.js';
import { capturingLogger, silentLogger } from '../support.js';

const frame = (query: Parameters<typeof answerHistory>[0]['query'], user = 'ada') => ({ v: 1, type: 'history' as const, request_id: 'q', user, query });

describe('answerHistory', () => {
  it('cuts a page that would not fit one tunnel message, and says more follow', () => {
    const db = openDatabase(':memory:');
    const history = new HistoryStore(db);
    const text = 'x'.repeat(60_000);
    const turns = Array.from({ length: 20 }, (_, i) => ({
      messageId: `api:ada:c:${String(i).padStart(2, '0')}`,
      conversationId: 'api:ada:c',
      role: 'user' as const,
      senderId: 'api:ada',
      text,
      createdAt: 1_000 + i,
      inReplyTo: null,
    }));
    history.append(turns, 0);
    const result = answerHistory(frame({ kind: 'since', after: null, limit: 20 }), history.api, silentLogger());
    expect(result.ok).toBe(true);
    expect(result.has_more).toBe(true);
    const count = result.items?.length ?? 0;
    expect(count).toBe(Math.floor(HISTORY_RESULT_MAX_BYTES / 60_000));
    expect(JSON.stringify(result).length).toBeLessThan(HISTORY_RESULT_MAX_BYTES + 10_000);
    // The next page starts where this one ended.
    const rest = answerHistory(frame({ kind: 'since', after: result.items?.at(-1)?.cursor ?? null, limit: 20 }), history.api, silentLogger());
    expect((rest.items?.length ?? 0) + count).toBe(20);
    db.close();
  });

  it('answers ok: false, and logs, when the database fails, instead of throwing', () => {
    const db = openDatabase(':memory:');
    const history = new HistoryStore(db);
    db.close();
    const { log, lines } = capturingLogger('warn');
    const result = answerHistory(frame({ kind: 'conversations', limit: 5 }), history.api, log);
    expect(result).toMatchObject({ type: 'history_result', request_id: 'q', ok: false, error: expect.stringContaining('not open') });
    expect(lines.join('')).toContain('history request failed');
  });

  it('does not log a bad request as a failure of its own', () => {
    const db = openDatabase(':memory:');
    const { log, lines } = capturingLogger('warn');
    const result = answerHistory(frame({ kind: 'since', after: null, limit: 5 }, 'no spaces allowed'), new HistoryStore(db).api, log);
    expect(result.ok).toBe(false);
    expect(lines).toEqual([]);
    db.close();
  });
});
