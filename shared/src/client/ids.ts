import { z } from 'zod';

/**
 * API clients (phones, browsers, tools) are users of the deployment, named by their token's
 * `sub`. Their conversations live under `api:<user>:<conversation>`, so the edge can tell from
 * an id alone whose it is; neither part may contain a colon.
 */
export const ApiUserIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._@+-]{1,64}$/, 'a user id is 1-64 characters of A-Z a-z 0-9 . _ @ + -');

/** A conversation as API clients name it (the part after `api:<user>:`). */
export const ApiConversationSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'a conversation id is 1-64 characters of A-Z a-z 0-9 . _ -');

/** Conversations named like this are one-shot OpenAI-style completions, never listed or kept. */
export const COMPLETION_CONVERSATION_PREFIX = 'completion.';

/** `api:<user>:<conversation>` */
export function apiConversationId(user: string, conversation: string): string {
  return `api:${user}:${conversation}`;
}

/** The user and short conversation id of an API conversation id; undefined for other platforms. */
export function parseApiConversationId(conversationId: string): { user: string; conversation: string } | undefined {
  const match = /^api:([^:]+):([^:]+)$/.exec(conversationId);
  if (!match?.[1] || !match[2]) return undefined;
  return { user: match[1], conversation: match[2] };
}

/** The sender id of an API user, as messages carry it (`api:<user>`). */
export const apiSenderId = (user: string) => `api:${user}`;
