import type { CoreFrameBody, HistoryFrame } from '@hearth/shared';
import type { Logger } from '../logger.js';
import { type ApiHistory, type HistoryPage, HistoryQueryError } from '../memory/api-history.js';

type HistoryResult = Extract<CoreFrameBody, { type: 'history_result' }>;

/**
 * Most bytes of items in one answer. A page of 200 long turns could pass what a WebSocket
 * message to a Durable Object may carry (1 MiB); a shorter page with `has_more` is still a
 * correct page, and the client's next request picks up at its last cursor.
 */
export const HISTORY_RESULT_MAX_BYTES = 768 * 1024;

/** The page cut to the byte budget (at least one item is kept: one turn always fits). */
function fit(page: HistoryPage): HistoryPage {
  let bytes = 0;
  for (const [index, item] of page.items.entries()) {
    bytes += Buffer.byteLength(JSON.stringify(item));
    if (bytes > HISTORY_RESULT_MAX_BYTES && index > 0) return { items: page.items.slice(0, index), has_more: true };
  }
  return page;
}

/**
 * The `history_result` for a `history` frame, from this core's disk. Never throws: the edge
 * waits on the request id, so a failure is an answer too (`ok: false`), and a bad request or a
 * database error must not take the tunnel down with it.
 *
 * @example
 * tunnel.send(answerHistory(frame, memory.apiHistory, log));
 */
export function answerHistory(frame: HistoryFrame, history: ApiHistory, log: Logger): HistoryResult {
  const { request_id, user, query } = frame;
  try {
    switch (query.kind) {
      case 'messages':
        return { type: 'history_result', request_id, ok: true, ...fit(history.messages(user, query.conversation_id, query.after, query.limit)) };
      case 'since':
        return { type: 'history_result', request_id, ok: true, ...fit(history.since(user, query.after, query.limit)) };
      case 'conversations':
        return { type: 'history_result', request_id, ok: true, conversations: history.conversations(user, query.limit) };
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // A bad query is the client's; anything else is ours, and worth a warning.
    if (!(error instanceof HistoryQueryError)) log.warn({ err: message, requestId: request_id, kind: query.kind }, 'history request failed');
    return { type: 'history_result', request_id, ok: false, error: message.slice(0, 1_000) };
  }
}
