import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** The same plain text from the same topic within this long of its first arrival is a resend. */
const PLAIN_TEXT_RESEND_WINDOW_MS = 120_000;

export interface PlainTextId {
  /** `txt~<hash of topic and payload>~<first arrival, ms>`. */
  id: string;
  /** When this text first arrived (ms): the message's timestamp, identical for every resend. */
  firstSeen: number;
}

/**
 * Ids for plain-text payloads, which carry none. The id is a hash of topic and payload, plus
 * the time the text was first seen, so that:
 * - a resend (the device retrying, the broker redelivering with the DUP flag) maps to the id of
 *   the first arrival: within {@link PLAIN_TEXT_RESEND_WINDOW_MS} of it, or however late when
 *   the broker marks it DUP and it is still remembered;
 * - the same words later ("status?" each hour) are a new message, answered anew.
 *
 * Remembered in memory only: a resend after a core restart is answered again (with another
 * reply id). Devices that need exactly one reply across restarts send JSON with their own id.
 */
export class PlainTextIds {
  private readonly seen: LRUCache<string, PlainTextId>;

  constructor(
    private readonly windowMs = PLAIN_TEXT_RESEND_WINDOW_MS,
    remember = 10_000,
  ) {
    this.seen = new LRUCache({ max: remember });
  }

  /** The id of `payload` received on `topic` at `receivedAt` (ms); `dup`: the broker's DUP flag. */
  idFor(topic: string, payload: Uint8Array, { receivedAt, dup }: { receivedAt: number; dup: boolean }): PlainTextId {
    const hash = createHash('sha256').update(topic).update('\u0000').update(payload).digest('hex').slice(0, 24);
    const previous = this.seen.get(hash);
    if (previous && (dup || receivedAt - previous.firstSeen < this.windowMs)) return previous;
    const fresh = { id: `txt~${hash}~${receivedAt}`, firstSeen: receivedAt };
    this.seen.set(hash, fresh);
    return fresh;
  }
}
