import { HearthError } from '@hearth/shared';
import { z } from 'zod';

/**
 * Small per-conversation state shared by every core: L2 (Redis) when configured, else L3.
 * Loose objects: a newer core may add fields, and an older one must carry them through its
 * read-modify-write instead of dropping them.
 */
export const SessionSchema = z.looseObject({
  /** Bumped by `/reset`; turns of an older generation are no longer part of the conversation. */
  generation: z.number().int().min(0),
  /**
   * The running summary of the conversation's older turns (see inference/compaction.ts), so
   * another core rebuilds the same context; L3 keeps a copy (summary-store.ts).
   */
  summary: z.string().max(16_384).optional(),
  /** The id of the last turn the summary covers: the model gets the turns after it as they are. */
  summaryThrough: z.string().max(256).optional(),
  /** Milliseconds since the epoch. */
  updatedAt: z.number().int().min(0),
});
export type Session = z.infer<typeof SessionSchema>;

/** A read-modify-write: gets the stored value (undefined when none) and returns the new one. */
export type Update<T> = (current: T | undefined) => T;

/** Where sessions live: Redis (L2) when configured, else SQLite (L3). */
export interface StateStore {
  readonly tier: 'l2' | 'l3';
  /** The session, its idle timer restarted; undefined when none or expired. */
  session(conversationId: string): Promise<Session | undefined>;
  /** Atomically replaces the session with `update(current)`; returns what was stored. */
  updateSession(conversationId: string, update: Update<Session>): Promise<Session>;
  /** Deletes expired sessions, where the store does not expire them by itself; returns how many. */
  prune?(now: number): number;
}

/** A stored session that is not valid JSON of the expected shape. */
export class StoredStateError extends HearthError {
  override readonly name = 'StoredStateError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_stored_state', message, options);
  }
}

/**
 * Parses a stored JSON value with `schema`. A bad value is an error, not "absent": treating it
 * as absent would restart the reset generation at 0 and bring back turns a `/reset` hid.
 */
export function parseStored<S extends z.ZodType>(schema: S, raw: string, where: string): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new StoredStateError(`${where} is not JSON; delete it to start that state afresh`, { cause: error });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
    throw new StoredStateError(`${where} has an unexpected shape (${issues}); delete it to start that state afresh`, { cause: parsed.error });
  }
  return parsed.data;
}
