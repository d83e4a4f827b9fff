import type { Message } from './message.js';

/** A `/command` at the start of a message: its name (lower-case, without `@bot`) and the rest. */
export interface Command {
  name: string;
  args: string;
}

// Telegram's form: 1-32 of a-z 0-9 _, optionally addressed `/cmd@bot_name` in groups.
const COMMAND = /^\/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{3,64})?(?:\s+([\s\S]*))?$/;

/**
 * The command a message starts with, on any platform (Telegram marks it as a `bot_command`
 * entity; WhatsApp and API clients just send the text).
 *
 * @example
 * commandOf(message) // { name: 'reset', args: '' } for "/reset@hearth_bot"
 */
export function commandOf(message: Pick<Message, 'content'>): Command | undefined {
  const match = COMMAND.exec(message.content.text.trim());
  if (!match) return undefined;
  return { name: (match[1] ?? '').toLowerCase(), args: (match[2] ?? '').trim() };
}

/** `/stop`: the edge also tells the core generating this conversation's reply to stop at once. */
export const isStopCommand = (message: Pick<Message, 'content'>): boolean => commandOf(message)?.name === 'stop';
