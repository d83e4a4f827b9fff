import type { NoteHit, NoteSearchResultFrame } from '@hearth/shared';
import { log } from '../log.js';
import { askCore, type CoreRefusal, type CoreRequestHost, PendingRequests } from './pending-requests.js';

/** A core's note hits, best first, or why there are none. */
export type NoteSearchAnswer = { ok: true; hits: NoteHit[] } | CoreRefusal;

/**
 * MCP `search_notes` at the Relay: recall lives at home, so each search goes to one connected
 * core as a `note_search` frame and waits for its `note_search_result` (by request id) until
 * the timeout or the end of that core's session. Nothing of it is kept here.
 */
export class NoteSearches {
  private readonly pending = new PendingRequests<NoteSearchAnswer>();

  constructor(private readonly host: CoreRequestHost) {}

  /** The `limit` notes of `user` (and the shared ones) most like `query`. */
  search(user: string, query: string, limit: number): Promise<NoteSearchAnswer> {
    return askCore(this.host, this.pending, 'no core is connected to search the notes; try again when it is', (request_id) => ({ type: 'note_search', request_id, user, query, limit }));
  }

  /** A core's answer to a note search. */
  onResult(frame: NoteSearchResultFrame): void {
    const answer: NoteSearchAnswer = frame.ok
      ? { ok: true, hits: frame.hits ?? [] }
      : { ok: false, code: 'core_error', message: frame.error ?? 'the core could not search its notes' };
    if (!this.pending.settle(frame.request_id, answer)) log('warn', 'note_search_result_unexpected', { request_id: frame.request_id });
  }

  /** A tunnel ended: the searches sent on it will not be answered. */
  sessionEnded(sessionId: string): void {
    this.pending.settleSession(sessionId, { ok: false, code: 'core_error', message: 'the core disconnected before answering' });
  }
}
