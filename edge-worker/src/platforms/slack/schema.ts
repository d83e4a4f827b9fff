import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';

/**
 * The parts of Slack Events API requests the edge reads, validated. Fields we do not read are
 * dropped unvalidated; an envelope or event type we do not handle is answered 200 and ignored by
 * name (Slack would retry a 4xx), only a malformed one we do handle is a 400.
 *
 * @see https://api.slack.com/apis/events-api#callback-field
 */

/** Slack ids (`C024BE91L`, `U024BE7LH`, `D…`, `T…`): upper-case letters and digits, never a `:`, our id separator. */
const SlackIdSchema = z.string().regex(/^[A-Z0-9]{1,64}$/, 'a Slack id is upper-case letters and digits');

/** A message's `ts` (`1355517523.000005`): its id within the channel, and when it was posted. */
const TsSchema = z.string().regex(/^\d{1,12}\.\d{1,9}$/, 'a Slack ts is seconds.micros');

/** Names Slack gives types and subtypes; bounded, since an ignored one is logged by name. */
const NameSchema = z.string().max(100);

/** The envelope's type: what the rest of the body is. */
export const SlackEnvelopeSchema = z.object({ type: NameSchema });

/** Sent once when the Request URL is entered in the app's Event Subscriptions: answered with its challenge. */
export const SlackUrlVerificationSchema = z.object({
  type: z.literal('url_verification'),
  challenge: z.string().min(1).max(1_000),
});

const FileSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().max(1_000).optional(),
  mimetype: z.string().max(200).optional(),
  size: z.number().int().nonnegative().optional(),
});

/** A `message` or `app_mention` event; other event types keep their name only. */
export const SlackEventSchema = z.object({
  type: NameSchema,
  /** `bot_message`, `message_changed`, `message_deleted`, `file_share`, … (absent on a plain message). */
  subtype: NameSchema.optional(),
  channel: SlackIdSchema.optional(),
  /** `im` (a DM), `channel`, `group`, `mpim`; `message` events only. */
  channel_type: NameSchema.optional(),
  user: SlackIdSchema.optional(),
  /** Set on what a bot (our own app included) posted. */
  bot_id: z.string().max(100).optional(),
  text: z.string().optional(),
  ts: TsSchema.optional(),
  /** The thread's first message, on a reply in a thread (and on that first message once it has replies). */
  thread_ts: TsSchema.optional(),
  files: z.array(FileSchema).optional(),
});

/** An event the app is subscribed to: `event_id` is the same on each of Slack's retries of it. */
export const SlackEventCallbackSchema = z.object({
  type: z.literal('event_callback'),
  team_id: z.string().optional(),
  event_id: z.string().min(1).max(200),
  event_time: z.number().int().nonnegative().optional(),
  event: SlackEventSchema,
});

export type SlackEventCallback = z.infer<typeof SlackEventCallbackSchema>;
export type SlackEvent = z.infer<typeof SlackEventSchema>;
export type SlackFile = z.infer<typeof FileSchema>;

/**
 * A button press under one of our messages (Interactivity, posted form-encoded as
 * `payload=<JSON>`): who pressed which button, under which message, in which channel.
 *
 * @see https://api.slack.com/reference/interaction-payloads/block-actions
 */
export const SlackBlockActionsSchema = z.object({
  type: z.literal('block_actions'),
  user: z.object({ id: SlackIdSchema, name: z.string().max(256).optional() }),
  channel: z.object({ id: SlackIdSchema }),
  /** The message the buttons are under (ours): its ts, and its thread's. */
  message: z.object({ ts: TsSchema, thread_ts: TsSchema.optional() }),
  actions: z
    .array(z.object({ action_id: z.string().max(255), value: z.string().max(2_000).optional(), action_ts: z.string().regex(/^\d{1,12}\.\d{1,9}$/) }))
    .min(1),
});

export type SlackBlockActions = z.infer<typeof SlackBlockActionsSchema>;

/** `json` as `schema` says, or a 400 naming the first problem and where it is. */
export function parseSlack<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new HTTPException(400, { message: `body is not a Slack ${what}: ${issue?.message}${where}` });
}
