import { decodeCursor, isAfter, type CursorPosition, type HistoryItem } from '@hearth/shared';

/** Items of history, oldest first, and whether more follow. */
export interface HistoryPage {
  items: HistoryItem[];
  has_more: boolean;
}

/**
 * At most this many, and this much text, are kept (the oldest go first): far more than a queue
 * holds unanswered, far less than a Durable Object's memory (a message may be 16 KiB).
 */
const DEFAULT_CAPACITY = { messages: 5_000, chars: 2_000_000 };

const START: CursorPosition = { at: -1, id: '' };
const position = (cursor: string | null) => (cursor === null ? START : decodeCursor(cursor));
const inHistoryOrder = (a: HistoryItem, b: HistoryItem) => {
  const [x, y] = [position(a.cursor) ?? START, position(b.cursor) ?? START];
  return isAfter(x, y) ? 1 : isAfter(y, x) ? -1 : 0;
};

/**
 * API users' messages the Relay accepted and announced that no core has answered yet, in memory
 * only (the queue holds them sealed; this is the plaintext their sender's devices were shown).
 * A core stores a user turn together with its reply, so until the reply comes its history lacks
 * the message: a device catching up from that history in the meantime (after an edge restart,
 * a reconnect during a slow generation) would miss it for good. Catch-up and history pages get
 * these merged into what the core had. Lost when the Relay is evicted, as any in-memory state is;
 * the message then shows with its reply, from the core's history.
 *
 * @example
 * unanswered.add('ada', item);
 * const page = unanswered.complete('ada', { after, limit: 200 }, fromCore); // with what the core lacks
 * unanswered.answered(item.message_id);
 */
export class UnansweredMessages {
  private readonly items = new Map<string, { user: string; item: HistoryItem }>();
  private chars = 0;

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  add(user: string, item: HistoryItem): void {
    this.answered(item.message_id);
    this.items.set(item.message_id, { user, item });
    this.chars += item.text.length;
    for (const oldest of this.items.keys()) {
      if (this.items.size <= this.capacity.messages && this.chars <= this.capacity.chars) break;
      this.answered(oldest);
    }
  }

  /** Its reply came (and with it, the core stored the message). */
  answered(messageId: string): void {
    const entry = this.items.get(messageId);
    if (!entry) return;
    this.items.delete(messageId);
    this.chars -= entry.item.text.length;
  }

  /**
   * A page of a core's history with the user's unanswered messages it lacks merged in, in
   * history order and still at most `limit` long. When more pages follow, only those before the
   * page's end belong here; the rest come with the page that covers them.
   */
  complete(user: string, query: { after: string | null; conversation?: string | undefined; limit: number }, page: HistoryPage): HistoryPage {
    // What the core's history holds is no longer missing from it.
    for (const item of page.items) this.answered(item.message_id);
    const from = position(query.after) ?? START;
    const last = page.has_more ? page.items.at(-1) : undefined;
    const end = last && position(last.cursor);
    const missing: HistoryItem[] = [];
    for (const { user: owner, item } of this.items.values()) {
      if (owner !== user || (query.conversation !== undefined && item.conversation_id !== query.conversation)) continue;
      const at = position(item.cursor);
      if (at && isAfter(at, from) && !(end && isAfter(at, end))) missing.push(item);
    }
    if (missing.length === 0) return page;
    const merged = [...page.items, ...missing].sort(inHistoryOrder);
    return { items: merged.slice(0, query.limit), has_more: page.has_more || merged.length > query.limit };
  }

  get size(): number {
    return this.items.size;
  }
}
