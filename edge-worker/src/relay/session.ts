import { CoreModelSchema } from '@hearth/shared';
import { z } from 'zod';

/**
 * What the Relay remembers about one tunnel, stored on the socket itself
 * (`serializeAttachment`) so it survives hibernation.
 */
const SessionSchema = z.object({
  sessionId: z.string(),
  coreId: z.string(),
  /** Most unacked deliveries this core may hold at once (its credits). */
  window: z.number().int().nonnegative(),
  /** True once the core said hello with a compatible protocol. */
  ready: z.boolean(),
  /** The core answers history requests (owner sessions of the CLI do not). */
  servesHistory: z.boolean().default(false),
  /** The model it answers with, for `GET /v1/models`. */
  model: z.object({ id: z.string(), description: z.string() }).optional(),
  /** Every model it answers with (chat, embedding), for `/v1/models` and matching `model`. */
  models: z.array(CoreModelSchema).optional(),
});
export type Session = z.infer<typeof SessionSchema>;

/**
 * Sessions as last written or read, per socket: every frame and every pump reads them, and
 * parsing the attachment each time cost more than the queue's statements. After hibernation
 * the sockets are new objects, so they are read from their attachments again.
 */
const known = new WeakMap<WebSocket, Session>();

export function readSession(ws: WebSocket): Session | undefined {
  const cached = known.get(ws);
  if (cached) return cached;
  const parsed = SessionSchema.safeParse(ws.deserializeAttachment());
  if (!parsed.success) return undefined;
  known.set(ws, parsed.data);
  return parsed.data;
}

export function writeSession(ws: WebSocket, session: Session): void {
  ws.serializeAttachment(session);
  known.set(ws, session);
}
