import type { CallbackQuery, Chat, Message as TgMessage, MessageEntity, Update, User } from '@grammyjs/types';
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

// Media are kept as references: the edge never downloads them.
const FileSchema = z.object({
  file_id: z.string(),
  file_size: z.number().int().nonnegative().optional(),
  mime_type: z.string().optional(),
  file_name: z.string().optional(),
});
const PhotoSizeSchema = z.object({ file_id: z.string(), width: z.number(), height: z.number(), file_size: z.number().int().optional() });

const MediaFields = {
  photo: z.array(PhotoSizeSchema).optional(),
  document: FileSchema.optional(),
  voice: FileSchema.optional(),
  audio: FileSchema.extend({ title: z.string().optional() }).optional(),
  video: FileSchema.optional(),
  sticker: z.object({ file_id: z.string(), emoji: z.string().optional(), file_size: z.number().int().optional() }).optional(),
  location: z.object({ latitude: z.number(), longitude: z.number() }).optional(),
  contact: z
    .object({ phone_number: z.string(), first_name: z.string(), last_name: z.string().optional(), user_id: z.number().int().optional() })
    .optional(),
};

export const TelegramMessageSchema = z.object({
  message_id: z.number().int(),
  date: z.number().int().nonnegative(),
  edit_date: z.number().int().nonnegative().optional(),
  chat: ChatSchema,
  from: UserSchema.optional(),
  // Who really speaks when `from` is a placeholder: the group (anonymous admin) or the channel.
  sender_chat: ChatSchema.optional(),
  text: z.string().optional(),
  caption: z.string().optional(),
  entities: z.array(EntitySchema).optional(),
  caption_entities: z.array(EntitySchema).optional(),
  reply_to_message: z.object({ message_id: z.number().int(), from: UserSchema.optional() }).optional(),
  ...MediaFields,
}) satisfies z.ZodType<Pick<TgMessage, 'message_id' | 'date' | 'text' | 'caption'>>;

export const CallbackQuerySchema = z.object({
  id: z.string(),
  from: UserSchema,
  // Absent for buttons under inline-mode messages, which have no chat to answer in.
  message: z.object({ message_id: z.number().int(), date: z.number().int(), chat: ChatSchema }).optional(),
  data: z.string().optional(),
}) satisfies z.ZodType<Pick<CallbackQuery, 'id' | 'data'>>;

export const TelegramUpdateSchema = z.object({
  update_id: z.number().int().nonnegative(),
  message: TelegramMessageSchema.optional(),
  edited_message: TelegramMessageSchema.optional(),
  channel_post: TelegramMessageSchema.optional(),
  callback_query: CallbackQuerySchema.optional(),
}) satisfies z.ZodType<Pick<Update, 'update_id'>>;

export type TelegramUpdate = z.infer<typeof TelegramUpdateSchema>;
export type TelegramMessage = z.infer<typeof TelegramMessageSchema>;
export type TelegramCallbackQuery = z.infer<typeof CallbackQuerySchema>;
export type TelegramUser = z.infer<typeof UserSchema>;
