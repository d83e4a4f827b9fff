import { z } from 'zod';
import { openFor, sealFor } from '../sealed.js';

/**
 * What a reply to one e-mail needs that its conversation id does not say: where it goes, under
 * which subject, and the thread's Message-IDs. Addresses and subjects are personal: the edge
 * keeps them only sealed (AES-GCM under a key from HEARTH_LOG_KEY), opened at send time.
 */
export const ReplyContextSchema = z.object({
  /** The address replies go to: the authenticated From. */
  to: z.string().min(3).max(320),
  subject: z.string().max(1_000),
  /** The answered mail's Message-ID, with its angle brackets. */
  messageId: z.string().min(3).max(1_000),
  /** Its References, oldest first (ours gain its Message-ID). */
  references: z.array(z.string().max(1_000)).max(100),
});
export type ReplyContext = z.infer<typeof ReplyContextSchema>;

/** Sealed for the Relay, bound to its conversation (a push takes the conversation's newest). */
export const sealReplyContext = (context: ReplyContext, key: Uint8Array, conversationId: string): Promise<string> => sealFor(key, conversationId, context);

/** The context, or undefined when it does not open under `key` (another HEARTH_LOG_KEY) or is not one. */
export const openReplyContext = (sealed: string, key: Uint8Array, conversationId: string): Promise<ReplyContext | undefined> =>
  openFor(key, conversationId, sealed, ReplyContextSchema);
