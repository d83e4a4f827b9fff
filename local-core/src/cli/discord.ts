import { HearthError } from '@hearth/shared';
import type { Command } from 'commander';
import { ConfigError } from '../errors.js';
import { runCommand } from './run.js';

/** A slash command as Discord's API takes it (CHAT_INPUT, string options). */
interface SlashCommand {
  name: string;
  description: string;
  options?: { name: string; description: string; required: boolean }[];
}

/**
 * The slash commands Hearth registers: `/ask` (a message to the assistant) and the core's
 * built-in commands, whose options the edge writes back as the command's text
 * (`/remember fact:x` → `/remember x`). `/start` is Telegram's greeting; Discord has none.
 */
export const DISCORD_COMMANDS: readonly SlashCommand[] = [
  { name: 'ask', description: 'Ask Hearth', options: [{ name: 'text', description: 'What to ask or say', required: true }] },
  { name: 'help', description: 'What Hearth can do' },
  { name: 'reset', description: 'Forget our conversation and start over' },
  { name: 'stop', description: 'Stop the reply being written' },
  { name: 'model', description: 'Which model answers you' },
  { name: 'context', description: 'What my context of our conversation is made of (tokens)' },
  { name: 'remember', description: 'Keep a fact about you (without one: what I keep)', options: [{ name: 'fact', description: 'The fact', required: false }] },
  { name: 'forget', description: 'Drop a fact I keep', options: [{ name: 'item', description: 'Its id or text', required: true }] },
];

const STRING_OPTION = 3;
/** In guilds and in the bot's DMs, for a bot installed to a guild. */
const CONTEXTS = [0, 1];
const GUILD_INSTALL = [0];

/** The body of `PUT /applications/{id}/commands`: the whole list, replacing what was registered. */
export const commandsBody = () =>
  DISCORD_COMMANDS.map((command) => ({
    type: 1,
    name: command.name,
    description: command.description,
    contexts: CONTEXTS,
    integration_types: GUILD_INSTALL,
    ...(command.options ? { options: command.options.map((option) => ({ type: STRING_OPTION, max_length: 6_000, ...option })) } : {}),
  }));

export interface DiscordApp {
  applicationId: string;
  botToken: string;
  apiBase: string;
}

/** The application from DISCORD_APPLICATION_ID, DISCORD_BOT_TOKEN and DISCORD_API_BASE (what the edge has too). */
export function discordAppOf(env: NodeJS.ProcessEnv): DiscordApp {
  const applicationId = env.DISCORD_APPLICATION_ID ?? '';
  const botToken = env.DISCORD_BOT_TOKEN ?? '';
  if (!/^\d{1,20}$/.test(applicationId)) throw new ConfigError('DISCORD_APPLICATION_ID must be the numeric application id (Developer Portal → General Information)');
  if (botToken === '') throw new ConfigError('DISCORD_BOT_TOKEN is missing: the Developer Portal shows it under Bot → Reset Token');
  const apiBase = (env.DISCORD_API_BASE || 'https://discord.com/api/v10').replace(/\/+$/, '');
  return { applicationId, botToken, apiBase };
}

/** Registers the slash commands (replacing the application's list); returns their names as Discord answered. */
async function registerDiscordCommands(app: DiscordApp): Promise<string[]> {
  const response = await fetch(`${app.apiBase}/applications/${app.applicationId}/commands`, {
    method: 'PUT',
    headers: { authorization: `Bot ${app.botToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(commandsBody()),
  }).catch((cause: unknown) => {
    throw new HearthError('discord_unreachable', `could not reach ${app.apiBase}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  });
  const body = (await response.json().catch(() => undefined)) as { message?: string; code?: number } | { name?: string }[] | undefined;
  if (!response.ok || !Array.isArray(body)) {
    // Code 0 is Discord's "no particular code" (a plain 401, 404).
    const detail = body && !Array.isArray(body) && body.message ? `${body.code ? `${body.code} ` : ''}${body.message}` : `HTTP ${response.status}`;
    const hint = response.status === 401 ? ' (is DISCORD_BOT_TOKEN the bot token of this application?)' : '';
    throw new HearthError('discord_refused', `Discord refused the commands: ${detail}${hint}`);
  }
  return body.map((command) => `/${command.name ?? '?'}`);
}

/** `hearth discord register`. */
export function registerDiscordCommand(program: Command): void {
  program
    .command('discord')
    .description('the Discord application the edge answers as')
    .command('register')
    .description('register the slash commands (/ask, /reset, /remember, ...) with DISCORD_APPLICATION_ID, using DISCORD_BOT_TOKEN')
    .action(() =>
      runCommand(async () => {
        const names = await registerDiscordCommands(discordAppOf(process.env));
        process.stdout.write(`registered ${names.join(' ')}\n`);
      }),
    );
}
