import { z } from 'zod';

/**
 * Buttons under a reply ("where a reply asks for them"): rows of labelled buttons whose `data`
 * comes back as a `button` entity when pressed. Limits are the strictest platform's: Telegram's
 * `callback_data` is 1-64 bytes; WhatsApp shows up to 3 as reply buttons, up to 10 as a list.
 */
export const ReplyButtonSchema = z.object({
  label: z.string().min(1).max(64),
  data: z
    .string()
    .min(1)
    .refine((data) => new TextEncoder().encode(data).byteLength <= 64, 'button data is at most 64 bytes'),
});

export const ReplyButtonsSchema = z
  .array(z.array(ReplyButtonSchema).min(1).max(8))
  .min(1)
  .max(10)
  .refine((rows) => rows.flat().length <= 10, 'at most 10 buttons in all');

export type ReplyButton = z.infer<typeof ReplyButtonSchema>;
export type ReplyButtons = z.infer<typeof ReplyButtonsSchema>;
