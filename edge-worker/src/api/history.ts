import { ApiConversationSchema, CursorSchema, HISTORY_PAGE_MAX } from '@hearth/shared';
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { relayFor } from '../relay/stub.js';
import { refusalError } from './errors.js';

const limit = (fallback: number) => z.coerce.number().int().min(1).max(HISTORY_PAGE_MAX).default(fallback);

export const MessagesQuerySchema = z.object({ after: CursorSchema.optional(), limit: limit(50) });
export const ConversationsQuerySchema = z.object({ limit: limit(50) });
export const ConversationParamSchema = z.object({ id: ApiConversationSchema });

/** `GET /v1/conversations` (chat:read): the user's conversations, most recent first, from a core's history. */
export async function listConversations(c: Context<AppEnv>, query: z.infer<typeof ConversationsQuerySchema>): Promise<Response> {
  const answer = await relayFor(c.env).history(c.get('client').user, { kind: 'conversations', limit: query.limit });
  if (!answer.ok) throw refusalError(answer);
  return c.json({ data: answer.conversations });
}

/**
 * `GET /v1/conversations/:id/messages?after=CURSOR&limit=N` (chat:read): turns after the
 * cursor, oldest first, read from a core's history (the edge keeps none); page on with the
 * last item's cursor while `has_more`.
 */
export async function conversationMessages(
  c: Context<AppEnv>,
  conversation: string,
  query: z.infer<typeof MessagesQuerySchema>,
): Promise<Response> {
  const answer = await relayFor(c.env).history(c.get('client').user, {
    kind: 'messages',
    conversation_id: conversation,
    after: query.after ?? null,
    limit: query.limit,
  });
  if (!answer.ok) throw refusalError(answer);
  return c.json({ data: answer.items, has_more: answer.has_more });
}
