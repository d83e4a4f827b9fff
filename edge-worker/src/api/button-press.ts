import { seal, type Message } from '@hearth/shared';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.js';
import { relayFor } from '../relay/stub.js';
import { composeApiMessage } from './compose.js';
import { ApiError } from './errors.js';

export interface ButtonPressInput {
  /** The short id of one of the token's user's conversations. */
  conversation: string;
  /** The button's data, as a Telegram or WhatsApp press carries it. */
  data: string;
  /** The message id's last part: the same one is the same press, queued once. */
  clientId: string;
  /** The message the press is about, when there is one. */
  replyTo?: string | null;
  /** An approval press: the Relay's press lane, past the turn waiting for it. */
  press?: boolean;
}

/**
 * Queues what an API client pressed as a message carrying a `button` entity, as a press on
 * Telegram or WhatsApp is: the core takes it the same way. Not announced to the user's devices
 * (a press is not a turn of the conversation). 503 when the queue is full.
 */
export async function queueButtonPress(c: Context<AppEnv>, input: ButtonPressInput): Promise<{ message: Message; duplicate: boolean }> {
  const { user } = c.get('client');
  const composed = composeApiMessage({ user, conversation: input.conversation, text: input.data, clientId: input.clientId, now: Date.now() });
  const message: Message = {
    ...composed,
    content: { ...composed.content, entities: [{ type: 'button', offset: 0, length: 0, value: input.data }] },
    reply_to: input.replyTo ?? null,
  };
  const sealed = await seal(JSON.stringify(message), c.get('config').coreKeys);
  const envelope = { message_id: message.message_id, conversation_id: message.conversation.id, sealed };
  const { outcome } = await relayFor(c.env).enqueue(envelope, { press: input.press === true });
  if (outcome === 'full') throw new ApiError(503, 'queue_full', 'the queue is full; retry later', { headers: { 'Retry-After': '30' } });
  return { message, duplicate: outcome === 'duplicate' };
}
