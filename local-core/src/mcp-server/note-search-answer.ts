import { apiSenderId, type CoreFrameBody, type NoteSearchFrame } from '@hearth/shared';
import type { Logger } from '../logger.js';
import { excerpt } from '../recall/excerpt.js';
import type { Recall } from '../recall/recall.js';

type NoteSearchResult = Extract<CoreFrameBody, { type: 'note_search_result' }>;

/** Characters of a hit's snippet: enough to read, small enough for an agent's context. */
const SNIPPET_CHARS = 600;

/**
 * The `note_search_result` for a `note_search` frame (MCP `search_notes`), from this core's
 * recall: the notes of the API user (`api:<user>`, as `hearth notes add --owner api:NAME` files
 * them) and the shared notes, never another user's nor remembered messages. Never throws: the
 * edge waits on the request id, so a failure is an answer too.
 *
 * @example
 * tunnel.send(await answerNoteSearch(frame, recall, log));
 */
export async function answerNoteSearch(frame: NoteSearchFrame, recall: Recall | undefined, log: Logger): Promise<NoteSearchResult> {
  const { request_id } = frame;
  if (!recall) return { type: 'note_search_result', request_id, ok: false, error: 'recall is off on this core (HEARTH_RECALL=off)' };
  try {
    // Messages are owned by conversations, not by `api:<user>`; the filter keeps the tool to notes.
    const found = await recall.search(apiSenderId(frame.user), frame.query, frame.limit);
    const hits = found
      .filter((hit) => hit.source === 'note')
      .map((hit) => ({ ref: hit.ref.slice(0, 600), text: excerpt(hit.text, frame.query, SNIPPET_CHARS), score: Math.round(hit.score * 1e4) / 1e4 }));
    return { type: 'note_search_result', request_id, ok: true, hits };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.warn({ err: message, requestId: request_id }, 'note search failed');
    return { type: 'note_search_result', request_id, ok: false, error: message.slice(0, 1_000) };
  }
}
