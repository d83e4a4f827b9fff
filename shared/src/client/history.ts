import { z } from 'zod';
import { ReplyButtonSchema } from '../reply-buttons.js';
import { CursorSchema } from './cursor.js';

/**
 * One turn of an API conversation as clients see it: in history pages, in catch-up, and as the
 * `message` event of the live stream. User turns carry the client's message id; the assistant's
 * its reply key (`reply:<message id>`) and `in_reply_to`.
 */
export const HistoryItemSchema = z.object({
  cursor: CursorSchema,
  message_id: z.string().min(1).max(300),
  /** The short id (without `api:<user>:`). */
  conversation_id: z.string().min(1).max(64),
  role: z.enum(['user', 'assistant']),
  text: z.string().max(65_536),
  /** Milliseconds since the epoch. */
  created_at: z.number().int().nonnegative(),
  in_reply_to: z.string().max(300).nullable(),
  /** The device that sent a user turn, when it said (`X-Hearth-Device`). */
  device: z.string().max(64).optional(),
  /**
   * Buttons under an assistant message (the owner's Run / Skip of a tool call): a press is
   * `POST /v1/press` with the button's `data`.
   */
  buttons: z.array(ReplyButtonSchema).min(1).max(10).optional(),
});
export type HistoryItem = z.infer<typeof HistoryItemSchema>;

/** A conversation in the list a client shows. */
export const ConversationSummarySchema = z.object({
  conversation_id: z.string().min(1).max(64),
  /** The first user message, cut short. */
  title: z.string().max(200),
  /** The last turn, cut short. */
  preview: z.string().max(200),
  turns: z.number().int().nonnegative(),
  updated_at: z.number().int().nonnegative(),
});
export type ConversationSummary = z.infer<typeof ConversationSummarySchema>;

export const HISTORY_PAGE_MAX = 200;
const limit = z.number().int().min(1).max(HISTORY_PAGE_MAX);

/**
 * What the edge asks a core about one user's history (it keeps none itself):
 * - `messages`: one conversation's turns after a cursor, oldest first;
 * - `since`: every conversation's turns after a cursor (a device catching up);
 * - `conversations`: the user's conversations, most recently active first.
 */
export const HistoryQuerySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('messages'), conversation_id: z.string().min(1).max(64), after: CursorSchema.nullable(), limit }),
  z.object({ kind: z.literal('since'), after: CursorSchema.nullable(), limit }),
  z.object({ kind: z.literal('conversations'), limit }),
]);
export type HistoryQuery = z.infer<typeof HistoryQuerySchema>;
