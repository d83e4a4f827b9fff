import type { Command, Message } from '@hearth/shared';
import { forgetCommand, rememberCommand, type CommandMemory } from './memory-commands.js';

/** What a command may act on: the conversation it came from and the core's parts. */
export interface CommandContext {
  message: Message;
  /** Forgets the conversation everywhere the core keeps it (engine context, memory). */
  reset(conversationId: string): Promise<void>;
  /** Whether a `/stop` of this conversation actually cut a reply short just now. */
  stopped(conversationId: string): boolean;
  /** What model runs, for `/model`. */
  describeModel(): string;
  /** `/context`: what the conversation's prompt is made of, in tokens. */
  promptReport?(conversationId: string): Promise<string>;
  /** Commands of enabled plugins, listed by `/help`. */
  pluginCommands?(): { name: string; description: string }[];
  /** The facts kept about senders, for `/remember` and `/forget`; none when HEARTH_MEMORY_ITEMS=off. */
  memory?: CommandMemory | undefined;
}

type Handler = (args: string, context: CommandContext) => Promise<string> | string;

const BUILTIN_HELP = [
  'Commands:',
  '/start – what this is',
  '/help – this list',
  '/reset – forget our conversation and start over',
  '/stop – stop the reply being written',
  '/model – which model answers you',
  '/context – what my context of our conversation is made of (tokens)',
  '/remember FACT – keep a fact about you (alone: what I keep)',
  '/forget ID or TEXT – drop one',
].join('\n');

/** `/help`: the built-in commands, then those of enabled plugins. */
const help = (context: CommandContext): string =>
  [BUILTIN_HELP, ...(context.pluginCommands?.() ?? []).map((command) => `/${command.name} – ${command.description}`)].join('\n');

/**
 * The commands the core answers itself, without the model: quick, predictable, and they work
 * even when a small model would ramble.
 */
const BUILTIN: Record<string, Handler> = {
  start: (_args, context) =>
    `Hi${context.message.sender.name ? ` ${context.message.sender.name}` : ''}! I am Hearth, an assistant running on my owner's own machine. ` +
    'Just write to me.\n\n' +
    help(context),
  help: (_args, context) => help(context),
  reset: async (_args, { message, reset }) => {
    await reset(message.conversation.id);
    return 'Done: I have forgotten our conversation. We start afresh.';
  },
  // The edge already told the core to stop (a cancel frame) when the /stop arrived; this answers it.
  stop: (_args, { message, stopped }) => (stopped(message.conversation.id) ? 'Stopped.' : 'Nothing to stop: I was not writing anything.'),
  model: (_args, { describeModel }) => `Model: ${describeModel()}`,
  context: (_args, { message, promptReport }) => promptReport?.(message.conversation.id) ?? 'No context to show here.',
  remember: (args, { message, memory }) => rememberCommand(args, message, memory),
  forget: (args, { message, memory }) => forgetCommand(args, message, memory),
};

/** The commands the core answers itself; plugins may not take these names. */
export const builtinCommandNames = (): string[] => Object.keys(BUILTIN);

/**
 * The answer to a command, or undefined when it is not one of ours (the caller decides: an
 * unknown command gets a pointer to /help, not a model's guess).
 */
export async function runBuiltinCommand(command: Command, context: CommandContext): Promise<string | undefined> {
  const handler = BUILTIN[command.name];
  return handler ? handler(command.args, context) : undefined;
}

export const unknownCommandReply = (command: Command): string => `I do not know /${command.name}. Send /help for what I can do.`;
