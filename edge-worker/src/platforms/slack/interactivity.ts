import type { Message } from '@hearth/shared';
import { HTTPException } from 'hono/http-exception';
import type { InboundBatch } from '../adapter.js';
import { parseJsonBody } from '../json-body.js';
import { slackConversationId, slackMessageId } from './normalize.js';
import { parseSlack, SlackBlockActionsSchema, SlackEnvelopeSchema } from './schema.js';

/** Interactivity requests are form-encoded (`payload=<JSON>`); Events API requests are JSON. */
export const isInteractivity = (rawBody: string): boolean => rawBody.startsWith('payload=');

/**
 * Maps a button press (`block_actions`) to a message whose text and `button` entity are the
 * button's value, in the conversation of the message it is under (as Telegram's callback_query
 * does); other interactivity (shortcuts, modals) is ignored by name. Slack does not retry
 * these, and each press has its own `action_ts`, so two presses are two messages.
 */
export function normalizeInteractivity(rawBody: string): InboundBatch {
  const payload = new URLSearchParams(rawBody).get('payload');
  if (!payload) throw new HTTPException(400, { message: 'interactivity request without payload' });
  const json = parseJsonBody(payload);
  const { type } = parseSlack(SlackEnvelopeSchema, json, 'interactivity payload');
  if (type !== 'block_actions') return { messages: [], ignored: [`interactivity type "${type}" not handled`], events: [] };
  const press = parseSlack(SlackBlockActionsSchema, json, 'block_actions payload');
  const action = press.actions[0];
  const value = action?.value;
  if (!action || !value) return { messages: [], ignored: ['a press of a button without a value'], events: [] };
  const channel = press.channel.id;
  const { ts, thread_ts: threadTs } = press.message;
  const seconds = Number(action.action_ts);
  const message: Message = {
    message_id: `${slackMessageId(channel, ts)}:press:${action.action_ts}`,
    platform: 'slack',
    conversation: {
      id: slackConversationId(channel, ts, threadTs && threadTs !== ts ? threadTs : undefined, channel.startsWith('D')),
      type: channel.startsWith('D') ? 'private' : 'group',
    },
    sender: { id: `slack:${press.user.id}` },
    content: { text: value, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value }] },
    reply_to: slackMessageId(channel, ts),
    timestamp: Math.floor(seconds),
    timestamp_ms: Math.floor(seconds * 1000),
  };
  return { messages: [message], ignored: [], events: [] };
}
