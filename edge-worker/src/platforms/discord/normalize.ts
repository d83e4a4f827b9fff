import type { Message } from '@hearth/shared';
import type { InboundBatch } from '../adapter.js';
import { sealInteraction, snowflakeTime } from './credential.js';
import type { CommandInteraction, ComponentInteraction } from './schema.js';

/** Interaction responses: acknowledge now, answer later (a command), or update nothing yet (a press). */
export const InteractionResponse = { Pong: 1, ChannelMessage: 4, DeferredChannelMessage: 5, DeferredUpdate: 6 } as const;

/** Discord's flag for a message only its addressee sees. */
const EPHEMERAL = 64;

/** `discord:<channel>:<interaction id>`: an interaction's id is unique, so a repeat of it maps to one message. */
const discordMessageId = (channel: string, id: string) => `discord:${channel}:${id}`;

/** A channel is one conversation: a guild channel, a group DM, or the DM of one user with the bot. */
const discordConversationId = (channel: string) => `discord:${channel}`;

/** `discord:<channel>` → the channel, for the bot's messages and typing. */
export const discordChannelOf = (conversationId: string): string => conversationId.split(':')[1] ?? '';

type Interaction = CommandInteraction | ComponentInteraction;

const DM = 1;

function common(interaction: Interaction, messageId: string): Omit<Message, 'content' | 'reply_to'> | string {
  const user = interaction.member?.user ?? interaction.user;
  if (!user) return 'without a user';
  const name = user.global_name ?? user.username;
  const dm = interaction.guild_id === undefined && (interaction.channel?.type ?? DM) === DM;
  const ms = snowflakeTime(interaction.id);
  return {
    message_id: messageId,
    platform: 'discord',
    conversation: { id: discordConversationId(interaction.channel_id), type: dm ? 'private' : 'group' },
    sender: { id: `discord:${user.id}`, ...(name ? { name } : {}) },
    timestamp: Math.floor(ms / 1000),
    timestamp_ms: ms,
  };
}

/**
 * The text a command stands for: `/ask text:…` is the text; another command is written as the
 * core reads commands on every platform (`/remember fact:x` → `/remember x`).
 */
function commandText(interaction: CommandInteraction): string {
  const args = (interaction.data.options ?? []).flatMap((option) => (option.value === undefined ? [] : [String(option.value)])).join(' ').trim();
  if (interaction.data.name === 'ask') return args;
  return args ? `/${interaction.data.name} ${args}` : `/${interaction.data.name}`;
}

/** The message, the answer Discord waits for (at once), and the token its reply goes out with, sealed. */
async function batchOf(botToken: string, interaction: Interaction, message: Message | string, answer: Record<string, unknown>): Promise<InboundBatch> {
  if (typeof message === 'string') {
    // Discord shows the person an answer either way; nothing is stored.
    const ignoredAnswer = { type: InteractionResponse.ChannelMessage, data: { content: 'Nothing to answer.', flags: EPHEMERAL } };
    return { messages: [], ignored: [`interaction ${interaction.id}: ${message}`], events: [], answer: ignoredAnswer };
  }
  const access = { token: interaction.token, original: interaction.type === 2 };
  const credential = await sealInteraction(botToken, message.message_id, interaction.id, access);
  return { messages: [message], ignored: [], events: [], answer, credentials: { [message.message_id]: credential } };
}

/** A slash command: a message of its text, answered "thinking…" (deferred) until the reply edits it. */
export function normalizeCommand(botToken: string, interaction: CommandInteraction): Promise<InboundBatch> {
  const messageId = discordMessageId(interaction.channel_id, interaction.id);
  const base = common(interaction, messageId);
  const text = commandText(interaction);
  const message: Message | string =
    typeof base === 'string' ? base : text === '' ? 'no text' : { ...base, content: { text, attachments: [], entities: [] }, reply_to: null };
  return batchOf(botToken, interaction, message, { type: InteractionResponse.DeferredChannelMessage });
}

/**
 * A button press: a message whose text and `button` entity are the button's data, in the
 * conversation of the message it is under (as Telegram's callback_query and Slack's presses).
 */
export function normalizePress(botToken: string, interaction: ComponentInteraction): Promise<InboundBatch> {
  const messageId = discordMessageId(interaction.channel_id, interaction.id);
  const base = common(interaction, messageId);
  const value = interaction.data.custom_id;
  const message: Message | string =
    typeof base === 'string'
      ? base
      : {
          ...base,
          content: { text: value, attachments: [], entities: [{ type: 'button', offset: 0, length: 0, value }] },
          reply_to: discordMessageId(interaction.channel_id, interaction.message.id),
        };
  return batchOf(botToken, interaction, message, { type: InteractionResponse.DeferredUpdate });
}
