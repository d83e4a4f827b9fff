import { z } from 'zod';
import { CursorSchema } from './cursor.js';
import { HistoryItemSchema } from './history.js';

/**
 * What a client's live stream (`GET /v1/events` as SSE, `GET /v1/ws`) carries, one JSON object
 * per event, discriminated on `type`:
 * - `message`: a turn was added (a user message from any of the user's devices, or a reply);
 *   it has a cursor, and is what catch-up replays;
 * - `delta`: reply text as the model writes it (`seq` from 0; not kept, not replayed);
 * - `synced`: catch-up is done; everything after is live;
 * - `error`: something the client should show (the stream stays open unless it says otherwise).
 */
export const ClientEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), item: HistoryItemSchema }),
  z.object({
    type: z.literal('delta'),
    conversation_id: z.string(),
    /** The user message being answered. */
    in_reply_to: z.string(),
    seq: z.number().int().min(0),
    text: z.string(),
  }),
  z.object({ type: z.literal('synced'), cursor: CursorSchema.nullable() }),
  z.object({ type: z.literal('error'), code: z.string(), message: z.string() }),
]);
export type ClientEvent = z.infer<typeof ClientEventSchema>;

/** What a client may send on `GET /v1/ws` (needs `chat:write`); answered by an `accepted` frame. */
export const ClientSendSchema = z.object({
  type: z.literal('send'),
  conversation_id: z.string(),
  text: z.string().min(1).max(16_384),
  /** The client's own id for this message: a resend with the same id is the same message. */
  client_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
});
export type ClientSend = z.infer<typeof ClientSendSchema>;
