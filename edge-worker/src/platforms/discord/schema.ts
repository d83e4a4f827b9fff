import { HTTPException } from 'hono/http-exception';
import { z } from 'zod';

/**
 * The parts of Discord interactions the edge reads, validated; fields we do not read are
 * dropped unvalidated. A type we do not handle keeps its number only.
 *
 * @see https://discord.com/developers/docs/interactions/receiving-and-responding#interaction-object
 */

/** Discord ids are snowflakes: decimal, 64-bit; never a `:`, our id separator. */
const SnowflakeSchema = z.string().regex(/^\d{1,20}$/, 'a Discord id is a decimal snowflake');

export const InteractionType = { Ping: 1, ApplicationCommand: 2, MessageComponent: 3 } as const;

/** What the rest of the body is. */
export const InteractionEnvelopeSchema = z.object({ type: z.number().int() });

const UserSchema = z.object({
  id: SnowflakeSchema,
  username: z.string().max(100).optional(),
  global_name: z.string().max(100).nullish(),
});

/** Who, where and with what right to answer: common to commands and button presses. */
const InteractionBase = z.object({
  id: SnowflakeSchema,
  /** Answers the interaction for 15 minutes: a credential, never logged or stored readable. */
  token: z.string().min(1).max(1_000),
  channel_id: SnowflakeSchema,
  guild_id: SnowflakeSchema.optional(),
  /** 1 DM, 3 group DM; guild channels have other types. */
  channel: z.object({ type: z.number().int() }).optional(),
  /** In a guild, who invoked it; in a DM, `user`. */
  member: z.object({ user: UserSchema }).optional(),
  user: UserSchema.optional(),
});

/** A slash command's option as sent: string, integer, number or boolean values (subcommands are not ours). */
const OptionSchema = z.object({
  name: z.string().max(32),
  type: z.number().int(),
  value: z.union([z.string().max(6_000), z.number(), z.boolean()]).optional(),
});

/** `/ask text:…`, `/reset`, …: the command's name and its options. */
export const CommandInteractionSchema = InteractionBase.extend({
  type: z.literal(InteractionType.ApplicationCommand),
  data: z.object({ name: z.string().min(1).max(32), options: z.array(OptionSchema).max(25).optional() }),
});

/** A press of one of our buttons: its `custom_id` (the button's data), under our message. */
export const ComponentInteractionSchema = InteractionBase.extend({
  type: z.literal(InteractionType.MessageComponent),
  data: z.object({ custom_id: z.string().min(1).max(100), component_type: z.number().int() }),
  message: z.object({ id: SnowflakeSchema }),
});

export type CommandInteraction = z.infer<typeof CommandInteractionSchema>;
export type ComponentInteraction = z.infer<typeof ComponentInteractionSchema>;

/** `json` as `schema` says, or a 400 naming the first problem and where it is. */
export function parseDiscord<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new HTTPException(400, { message: `body is not a Discord ${what}: ${issue?.message}${where}` });
}
