import type { Chat, Message as TgMessage, MessageEntity, Update, User } from '@grammyjs/types';
import { z } from 'zod';

/**
 * The part of a Telegram `Update` the edge reads, validated. Each schema is checked against
 * @grammyjs/types at compile time (`satisfies`), so a field we read cannot drift from the
 * Bot API's shape; fields we do not read pass through unvalidated and are dropped.
 */
const UserSchema = z.object({
  id: z.number().int(),
  is_bot: z.boolean(),
  first_name: z.string(),
  last_name: z.string().optional(),
  username: z.string().optional(),
}) satisfies z.ZodType<Pick<User, 'id' | 'is_bot' | 'first_name' | 'last_name' | 'username'>>;

const ChatSchema = z.object({
  id: z.number().int(),
  type: z.enum(['private', 'group', 'supergroup', 'channel']),
  title: z.string().optional(),
}) satisfies z.ZodType<Pick<Chat, 'id' | 'type'>>;

const EntitySchema = z.object({
  type: z.string(),
  offset: z.number().int().nonnegative(),
  length: z.number().int().nonnegative(),
  url: z.string().optional(),
}) satisfies z.ZodType<Pick<MessageEntity, 'offset' | 'length'>>;

export const TelegramMessageSchema = z.object({
  message_id: z.number().int(),
  date: z.number().int().nonnegative(),
  chat: ChatSchema,
  from: UserSchema.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  entities: z.array(EntitySchema).optional(),
  caption_entities: z.array(EntitySchema).optional(),
  reply_to_message: z.object({ message_id: z.number().int() }).optional(),
}) satisfies z.ZodType<Pick<TgMessage, 'message_id' | 'date' | 'text' | 'caption'>>;

export const TelegramUpdateSchema = z.object({
  update_id: z.number().int().nonnegative(),
  message: TelegramMessageSchema.optional(),
}) satisfies z.ZodType<Pick<Update, 'update_id'>>;

export type TelegramUpdate = z.infer<typeof TelegramUpdateSchema>;
export type TelegramMessage = z.infer<typeof TelegramMessageSchema>;
