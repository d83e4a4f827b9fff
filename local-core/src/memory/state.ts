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
  /** The model variant this conversation was assigned (A/B), kept across resets. */
  variant: z.string().max(64).optional(),
  /** A running summary of the conversation so far, so context survives a move to another core. */
  summary: z.string().max(16_384).optional(),
  /** Milliseconds since the epoch. */
  updatedAt: z.number().int().min(0),
});
export type Session = z.infer<typeof SessionSchema>;

/** What the assistant knows about a user, across conversations and platforms' chats. */
export const ProfileSchema = z.looseObject({
  name: z.string().max(256).optional(),
  /** A BCP 47 tag: `en`, `pt-BR`. */
  language: z.string().max(35).optional(),
  preferences: z.record(z.string().max(64), z.union([z.string().max(1_024), z.number(), z.boolean()])).default({}),
  updatedAt: z.number().int().min(0),
});
export type Profile = z.infer<typeof ProfileSchema>;

/** A read-modify-write: gets the stored value (undefined when none) and returns the new one. */
export type Update<T> = (current: T | undefined) => T;

/** Where sessions and profiles live: Redis (L2) when configured, else SQLite (L3). */
export interface StateStore {
  readonly tier: 'l2' | 'l3';
  /** The session, its idle timer restarted; undefined when none or expired. */
  session(conversationId: string): Promise<Session | undefined>;
  /** Atomically replaces the session with `update(current)`; returns what was stored. */
  updateSession(conversationId: string, update: Update<Session>): Promise<Session>;
  profile(userId: string): Promise<Profile | undefined>;
  updateProfile(userId: string, update: Update<Profile>): Promise<Profile>;
  /** Deletes expired sessions, where the store does not expire them by itself; returns how many. */
  prune?(now: number): number;
}

/** A stored session or profile that is not valid JSON of the expected shape. */
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
