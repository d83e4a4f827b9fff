import type { Attachment, Message } from '@hearth/shared';
import type { InboundBatch } from '../adapter.js';
import type { SlackEvent, SlackEventCallback, SlackFile } from './schema.js';

/** `slack:<channel>:<ts>`: a message's ts is unique in its channel, so every retry of an event maps to one id. */
export const slackMessageId = (channel: string, ts: string) => `slack:${channel}:${ts}`;

/**
 * A DM is one conversation (`slack:<D…>`); a thread, in a DM or a channel, is its own
 * (`slack:<channel>:<thread ts>`), and a mention at the top of a channel starts one under
 * itself. Replies go where the conversation is: the id says which thread to answer in.
 */
export function slackConversationId(channel: string, ts: string, threadTs: string | undefined, dm: boolean): string {
  if (threadTs) return `slack:${channel}:${threadTs}`;
  return dm ? `slack:${channel}` : `slack:${channel}:${ts}`;
}

/** `slack:<channel>[:<thread ts>]` → Slack's channel and thread, for chat.postMessage. */
export function slackTargetOf(conversationId: string): { channel: string; threadTs: string | undefined } {
  const [, channel = '', threadTs] = conversationId.split(':');
  return { channel, threadTs: threadTs || undefined };
}

/** Subtypes that are still a person writing to us; every other (edits, joins, bots…) is not. */
const PERSON_SUBTYPES: ReadonlySet<string | undefined> = new Set([undefined, 'file_share', 'thread_broadcast']);

/** The mention of the bot that opens an `app_mention`'s text (`<@U0LAN0Z89> hi` → `hi`). */
const LEADING_MENTION = /^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*/;

/** Slack escapes these three in message text; the core gets what the person typed. */
const unescapeText = (text: string) => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/**
 * Maps one Events API callback to at most one message, or says why it is ignored (answered 200,
 * so Slack does not retry it): DMs to the app (`message`, channel_type `im`) and mentions of it
 * (`app_mention`) are messages; bots (our own replies included), edits, deletions and other
 * channel traffic are not.
 */
export function normalizeSlackEvent(callback: SlackEventCallback): InboundBatch {
  const result = normalized(callback.event);
  return typeof result === 'string'
    ? { messages: [], ignored: [`event ${callback.event_id}: ${result}`], events: [] }
    : { messages: [result], ignored: [], events: [] };
}

function normalized(event: SlackEvent): Message | string {
  if (event.type !== 'message' && event.type !== 'app_mention') return `event type "${event.type}" not handled`;
  if (event.bot_id || event.subtype === 'bot_message') return "a bot's message (our own replies included)";
  if (!PERSON_SUBTYPES.has(event.subtype)) return `subtype "${event.subtype}" not handled`;
  const { channel, user, ts } = event;
  if (!channel || !user || !ts) return 'without channel, user or ts';
  const dm = event.channel_type === 'im' || (event.channel_type === undefined && channel.startsWith('D'));
  // In channels the app hears mentions as app_mention; a subscription to message.channels
  // would bring every message of the channel, not ours to answer.
  if (event.type === 'message' && !dm) return `message in a ${event.channel_type ?? 'channel'}: only DMs and mentions are answered`;
  const raw = event.text ?? '';
  const text = unescapeText(event.type === 'app_mention' ? raw.replace(LEADING_MENTION, '') : raw);
  const attachments = (event.files ?? []).map(attachmentOf);
  if (text.trim() === '' && attachments.length === 0) return 'no content';
  const threadTs = event.thread_ts && event.thread_ts !== ts ? event.thread_ts : undefined;
  const seconds = Number(ts);
  return {
    message_id: slackMessageId(channel, ts),
    platform: 'slack',
    conversation: { id: slackConversationId(channel, ts, threadTs, dm), type: dm ? 'private' : 'group' },
    sender: { id: `slack:${user}` },
    content: { text, attachments, entities: [] },
    reply_to: threadTs ? slackMessageId(channel, threadTs) : null,
    timestamp: Math.floor(seconds),
    timestamp_ms: Math.floor(seconds * 1000),
  };
}

/** A shared file, by reference: fetching it takes the bot token, which the core does not have. */
function attachmentOf(file: SlackFile): Attachment {
  return {
    kind: file.mimetype?.startsWith('image/') ? 'photo' : 'document',
    file_id: file.id,
    ...(file.mimetype ? { mime_type: file.mimetype } : {}),
    ...(file.size !== undefined ? { size: file.size } : {}),
    ...(file.name ? { name: file.name } : {}),
  };
}
