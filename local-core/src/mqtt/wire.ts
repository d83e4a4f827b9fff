import { z } from 'zod';

/** Largest payload taken from a device; anything bigger is dropped unread. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;

/** A message id chosen by a device. No `~`: that marks the ids the bridge derives for plain text. */
const DEVICE_MESSAGE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * What a device publishes as JSON. `id` is the device's own message id: a device that resends a
 * message (no reply yet, a reconnect) sends the same id, and gets the same reply without the
 * model running again. Unknown fields are ignored, so devices may carry their own.
 *
 * @example
 * { "id": "42", "text": "turn the heating down", "sender": "ada" }
 */
export const DevicePayloadSchema = z.object({
  id: z.union(
    [z.string().regex(DEVICE_MESSAGE_ID), z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).transform(String)],
    { error: 'id must be 1-128 characters of A-Z a-z 0-9 . _ : - (or a whole number)' },
  ),
  text: z.string({ error: 'text must be a string' }).refine((text) => text.trim() !== '', 'text must not be empty'),
  /** Who speaks, when several people share the device; the sender is then `mqtt:<device>:<sender>`. */
  sender: z
    .string()
    .regex(/^[^\p{Cc}:]{1,128}$/u, 'sender must be 1-128 characters without colons or control characters')
    .optional(),
  /** The id of the message (or reply) this one answers, if any. */
  reply_to: z.string().min(1).max(256, 'reply_to must be at most 256 characters').optional(),
  /** When the device wrote it, in seconds since the epoch; else when the bridge received it. */
  timestamp: z.number().int().nonnegative().max(99_999_999_999, 'timestamp must be in seconds since the epoch, not milliseconds').optional(),
});
export type DevicePayload = z.infer<typeof DevicePayloadSchema>;

/**
 * What the core publishes on the device's reply topic. `id` is derived from the message
 * answered, never random: a message received twice is answered twice with the same `id`, and
 * the device keeps the first.
 */
export const MqttReplySchema = z.object({
  /** `reply:<in_reply_to>`, the reply's idempotency key. */
  id: z.string(),
  /** The normalized id of the message answered: `mqtt:<device>:<id>`. */
  in_reply_to: z.string(),
  text: z.string(),
});
export type MqttReply = z.infer<typeof MqttReplySchema>;
