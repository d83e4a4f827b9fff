import { apiConversationId, apiSenderId, encodeCursor, type CompletionRequest, type HistoryItem, type Message } from '@hearth/shared';

export interface ApiMessageInput {
  user: string;
  /** The short conversation id. */
  conversation: string;
  text: string;
  /** The client's own id for the message: a resend with it is the same message (deduped). */
  clientId?: string | undefined;
  device?: string | undefined;
  completion?: CompletionRequest;
  now: number;
}

/**
 * The normalized message for something an API client sent. Its id is derived from the client's
 * id when it gave one (`api:<user>:<conversation>:<client id>`), so a POST the client retries
 * after a lost answer is stored once and answered once, as platform retries are.
 */
export function composeApiMessage(input: ApiMessageInput): Message {
  const conversationId = apiConversationId(input.user, input.conversation);
  return {
    message_id: `${conversationId}:${input.clientId ?? crypto.randomUUID()}`,
    platform: 'api',
    conversation: { id: conversationId, type: 'private' },
    sender: { id: apiSenderId(input.user), ...(input.device ? { device: input.device } : {}) },
    content: { text: input.text, attachments: [], entities: [] },
    reply_to: null,
    timestamp: Math.floor(input.now / 1000),
    timestamp_ms: input.now,
    ...(input.completion ? { completion: input.completion } : {}),
  };
}

/** The message as the user's other devices see it arrive (the `message` event). */
export function userItemOf(message: Message, conversation: string): HistoryItem {
  const at = message.timestamp_ms ?? message.timestamp * 1000;
  const { device } = message.sender;
  return {
    cursor: encodeCursor({ at, id: message.message_id }),
    message_id: message.message_id,
    conversation_id: conversation,
    role: 'user',
    text: message.content.text,
    created_at: at,
    in_reply_to: null,
    ...(device ? { device } : {}),
  };
}
