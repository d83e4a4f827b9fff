import { z } from 'zod';
import { CompletionRequestSchema } from './completion.js';

/**
 * The normalized message: what every platform adapter produces and what the core consumes.
 * Field for field the seed's schema (see docs/architecture.md, "The message"), plus what routing needs.
 *
 * `message_id` is deterministic from the platform's own ids (`telegram:<chat>:<message>`), so a
 * webhook the platform retries maps to the same id: dedupe and "exactly one reply" rest on it.
 */
export const PlatformSchema = z.enum(['telegram', 'whatsapp', 'slack', 'discord', 'email', 'api', 'mqtt']);
export type Platform = z.infer<typeof PlatformSchema>;

export const ConversationTypeSchema = z.enum(['private', 'group', 'channel']);

export const AttachmentSchema = z.object({
  kind: z.enum(['photo', 'document', 'voice', 'audio', 'video', 'sticker', 'location', 'contact']),
  /** The platform's own reference; the edge never downloads content. */
  file_id: z.string().optional(),
  mime_type: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  name: z.string().optional(),
  /** For `location`. */
  location: z.object({ latitude: z.number(), longitude: z.number() }).optional(),
  /** For `contact`. */
  contact: z.object({ name: z.string().optional(), phone_number: z.string().optional() }).optional(),
});

/**
 * A marked span of the text (command, mention, URL...) or, with offset and length 0, a fact
 * about the message: `button` (a pressed button; `value` is its data), `reaction` (`value` is
 * the id of the message reacted to), `edit` (this edits `value`).
 */
export const EntitySchema = z.object({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  value: z.string().optional(),
});

export const MessageSchema = z.object({
  message_id: z.string().min(1).max(256),
  platform: PlatformSchema,
  conversation: z.object({
    id: z.string().min(1).max(256),
    type: ConversationTypeSchema,
  }),
  sender: z.object({
    id: z.string().min(1).max(256),
    name: z.string().max(256).optional(),
    /** The API client's device it was sent from, as it named itself: its other devices show it. */
    device: z.string().max(64).optional(),
  }),
  content: z.object({
    text: z.string(),
    attachments: z.array(AttachmentSchema),
    entities: z.array(EntitySchema),
  }),
  reply_to: z.string().nullable(),
  /** Seconds since the epoch, as the platform stamped it. */
  timestamp: z.number().int().nonnegative(),
  /**
   * Milliseconds since the epoch, where the source gives them (the edge stamps API messages):
   * history is ordered by it, and two messages of one second must keep their order.
   */
  timestamp_ms: z.number().int().nonnegative().optional(),
  /** Set for an OpenAI-style completion: see {@link CompletionRequestSchema}. */
  completion: CompletionRequestSchema.optional(),
});

export type Message = z.infer<typeof MessageSchema>;
export type Attachment = z.infer<typeof AttachmentSchema>;
export type Entity = z.infer<typeof EntitySchema>;

/**
 * The idempotency key of the reply to a message. Derived, never random: a core that answers
 * the same delivery twice (after a crash, on redelivery) produces the same key, and the Relay
 * sends it once.
 */
export function replyKeyFor(messageId: string): string {
  return `reply:${messageId}`;
}

/** The platform a conversation id belongs to (`telegram:123` → `telegram`). */
export function platformOf(conversationId: string): Platform | undefined {
  const parsed = PlatformSchema.safeParse(conversationId.slice(0, conversationId.indexOf(':')));
  return parsed.success ? parsed.data : undefined;
}
