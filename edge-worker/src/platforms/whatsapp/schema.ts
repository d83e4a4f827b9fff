import { z } from 'zod';

/**
 * The part of a WhatsApp Cloud API webhook (Meta's `messages` field of a WhatsApp Business
 * Account) the edge reads, validated. Fields we do not read are dropped unvalidated, and a
 * message type's own object is optional: a type we do not handle, or Meta's next new one, is
 * answered 200 and ignored by name rather than refused as malformed.
 *
 * @see https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components
 */

/** Meta stamps seconds since the epoch as a string of digits. */
const TimestampSchema = z.union([z.string().regex(/^\d{1,12}$/, 'timestamp must be digits'), z.number().int().nonnegative()]);

/** An error Meta reports inside a webhook (an unsupported message, a failed delivery). */
const WebhookErrorSchema = z.object({
  code: z.number().int().optional(),
  title: z.string().optional(),
  message: z.string().optional(),
});

/** image, audio, video, document and sticker share this shape; each reads its own fields. */
const MediaSchema = z.object({
  /** The media id: fetching the file takes the access token, which the core does not have. */
  id: z.string().min(1),
  mime_type: z.string().optional(),
  caption: z.string().optional(),
  /** document only. */
  filename: z.string().optional(),
  /** audio only: true for a voice note recorded in WhatsApp. */
  voice: z.boolean().optional(),
});

const LocationSchema = z.object({
  latitude: z.number(),
  longitude: z.number(),
  name: z.string().optional(),
  address: z.string().optional(),
});

/** A shared contact card (vCard-like). */
const ContactCardSchema = z.object({
  name: z.object({ formatted_name: z.string().optional(), first_name: z.string().optional() }).optional(),
  phones: z.array(z.object({ phone: z.string().optional(), wa_id: z.string().optional() })).optional(),
});

const ReplySchema = z.object({ id: z.string(), title: z.string() });

export const WhatsAppMessageSchema = z.object({
  /** The sender's WhatsApp id (their phone number, digits only). */
  from: z.string().min(1).max(64),
  /** The `wamid.…` id: stable across Meta's retries of the same webhook. */
  id: z.string().min(1).max(200),
  timestamp: TimestampSchema,
  type: z.string(),
  /** Present on replies (`id` is the quoted message) and on forwarded messages (no `id`). */
  context: z.object({ id: z.string().min(1).max(200).optional() }).optional(),
  text: z.object({ body: z.string() }).optional(),
  image: MediaSchema.optional(),
  audio: MediaSchema.optional(),
  video: MediaSchema.optional(),
  document: MediaSchema.optional(),
  sticker: MediaSchema.optional(),
  location: LocationSchema.optional(),
  contacts: z.array(ContactCardSchema).optional(),
  interactive: z
    .object({ type: z.string(), button_reply: ReplySchema.optional(), list_reply: ReplySchema.optional() })
    .optional(),
  /** A template's quick-reply button. */
  button: z.object({ text: z.string(), payload: z.string().optional() }).optional(),
  /** `emoji` is absent (or empty) when the user takes their reaction back. */
  reaction: z.object({ message_id: z.string().min(1), emoji: z.string().optional() }).optional(),
  errors: z.array(WebhookErrorSchema).optional(),
});

/** A delivery receipt for something the business sent. */
export const WhatsAppStatusSchema = z.object({
  id: z.string().min(1),
  status: z.string(),
  timestamp: TimestampSchema.optional(),
  recipient_id: z.string().optional(),
  errors: z.array(WebhookErrorSchema).optional(),
});

export const WhatsAppValueSchema = z.object({
  messaging_product: z.literal('whatsapp'),
  metadata: z.object({ phone_number_id: z.string().min(1), display_phone_number: z.string() }),
  contacts: z.array(z.object({ wa_id: z.string(), profile: z.object({ name: z.string().optional() }).optional() })).optional(),
  messages: z.array(WhatsAppMessageSchema).optional(),
  statuses: z.array(WhatsAppStatusSchema).optional(),
  errors: z.array(WebhookErrorSchema).optional(),
});

/**
 * A change of the `messages` field carries a value we validate; a change of any other field the
 * app may be subscribed to (template or account updates...) is not ours to read, and kept as
 * its name only. (A plain union would report a bad `messages` value as "Invalid input".)
 */
const ChangeSchema = z.object({ field: z.string(), value: z.unknown() }).transform((change, ctx) => {
  if (change.field !== 'messages') return { kind: 'other' as const, field: change.field };
  const value = WhatsAppValueSchema.safeParse(change.value);
  if (value.success) return { kind: 'messages' as const, value: value.data };
  for (const issue of value.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: ['value', ...issue.path] });
  return z.NEVER;
});

export const WhatsAppWebhookSchema = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(z.object({ id: z.string(), changes: z.array(ChangeSchema) })),
});

export type WhatsAppWebhook = z.infer<typeof WhatsAppWebhookSchema>;
export type WhatsAppChange = WhatsAppWebhook['entry'][number]['changes'][number];
export type WhatsAppValue = z.infer<typeof WhatsAppValueSchema>;
export type WhatsAppMessage = z.infer<typeof WhatsAppMessageSchema>;
export type WhatsAppStatus = z.infer<typeof WhatsAppStatusSchema>;
export type WhatsAppWebhookError = z.infer<typeof WebhookErrorSchema>;
