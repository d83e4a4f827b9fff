import { AccessPolicySchema, AdmissibleSenderSchema, isPlainTextOffLoopback, type AccessPolicy } from '@hearth/shared';
import { ConfigError } from '../errors.js';
import type { Prompter } from './init-prompt.js';
import type { InitPlatform } from './init-steps.js';

/** A parsed answer, or why it was refused (the question is asked again). */
export type Parsed<T> = T | { error: string };

const DEFAULT_EDGE_URL = 'http://127.0.0.1:8787';

export const parseEdgeUrl = (text: string): Parsed<string> => {
  try {
    const url = new URL(text);
    if (isPlainTextOffLoopback(url)) return { error: 'plain http only to this machine: give the https:// URL of the deployed edge (on a network you trust: HEARTH_ALLOW_INSECURE_EDGE=on and HEARTH_EDGE_URL in .env)' };
    if (url.protocol === 'http:' || url.protocol === 'https:') return text.replace(/\/+$/, '');
  } catch {
    // refused below
  }
  return { error: 'the edge URL is http(s)://host[:port], e.g. https://hearth-edge.you.workers.dev or http://127.0.0.1:8787' };
};

const PLATFORMS: readonly InitPlatform[] = ['telegram', 'whatsapp', 'slack', 'discord', 'email'];

/** `telegram`, `slack`, `telegram,slack,email`; `both` is Telegram and WhatsApp. */
export const parsePlatforms = (text: string): Parsed<InitPlatform[]> => {
  const choice = text.toLowerCase().replace(/\s+/g, '');
  if (choice === 'both') return ['telegram', 'whatsapp'];
  // The client API and the web chat need no platform.
  if (choice === 'none') return [];
  const names = choice.split(',');
  const platforms = PLATFORMS.filter((p) => names.includes(p));
  if (names.length > 0 && platforms.length === new Set(names).size) return platforms;
  return { error: 'the platform is telegram, whatsapp, slack, discord, email, a list of them (telegram,slack), both or none (the client API and web chat only)' };
};

export const parsePolicy = (text: string): Parsed<AccessPolicy> => {
  const parsed = AccessPolicySchema.safeParse(text.toLowerCase());
  return parsed.success ? parsed.data : { error: 'the access policy is pairing (the default), allowlist or open' };
};

/** `telegram:42, whatsapp:1555...` → `telegram:42,whatsapp:1555...`, each sender checked. */
export const parseAllowlist = (text: string): Parsed<string> => {
  const senders = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const sender of senders) {
    const parsed = AdmissibleSenderSchema.safeParse(sender);
    if (!parsed.success) return { error: `"${sender}": ${parsed.error.issues[0]?.message ?? 'not platform:id'}` };
  }
  return senders.join(',');
};

const optional =
  (pattern: RegExp, error: string) =>
  (text: string): Parsed<string> =>
    text === '' || pattern.test(text) ? text : { error };

const parseBotToken = optional(/^\d+:[A-Za-z0-9_-]+$/, 'a bot token looks like 123456789:AAH... (from @BotFather); leave it empty for now');
const parseBotUsername = (text: string): Parsed<string> =>
  text === '' || /^@?[A-Za-z0-9_]{3,64}$/.test(text) ? text.replace(/^@/, '') : { error: 'the bot username is 3-64 of A-Z a-z 0-9 _, e.g. hearth_bot' };
const parsePhoneNumberId = optional(/^\d{1,32}$/, "the phone number id is the number Meta shows under WhatsApp's API setup");
const parseLine = optional(/^\S+$/, 'one word, no spaces: paste it again');
const parseEmailAddress = optional(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, "the assistant's e-mail address, e.g. hearth@example.com (its domain on Cloudflare Email Routing)");

/** Everything `hearth init` asks. Values left empty are for the user to fill in later. */
export interface InitAnswers {
  edgeUrl: string;
  platforms: InitPlatform[];
  telegramBotToken: string;
  telegramBotUsername: string;
  whatsappAppSecret: string;
  whatsappAccessToken: string;
  whatsappPhoneNumberId: string;
  emailAddress: string;
  policy: AccessPolicy;
  allowlist: string;
}

/** What is already known: settings files first, then the environment. Empty means unknown. */
export type Known = (name: string) => string;

/** Flags given on the command line; they are the answers' defaults too. */
export interface InitFlags {
  edgeUrl?: string | undefined;
  platforms?: InitPlatform[] | undefined;
  policy?: AccessPolicy | undefined;
  allowlist?: string | undefined;
}

/** Platforms already set up in the known settings; Telegram when none is. */
function knownPlatforms(known: Known): InitPlatform[] {
  const set = {
    telegram: known('TELEGRAM_WEBHOOK_SECRET') !== '' || known('TELEGRAM_BOT_TOKEN') !== '',
    whatsapp: known('WHATSAPP_VERIFY_TOKEN') !== '',
    slack: known('SLACK_SIGNING_SECRET') !== '',
    discord: known('DISCORD_PUBLIC_KEY') !== '',
    email: known('EMAIL_ADDRESS') !== '',
  };
  const platforms = PLATFORMS.filter((p) => set[p]);
  return platforms.length > 0 ? platforms : ['telegram'];
}

const orThrow = <T>(parsed: Parsed<T>, variable: string): T => {
  if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) throw new ConfigError(`${variable} in the environment or .env: ${parsed.error}`);
  return parsed;
};

/**
 * The answers without asking (`--yes`, or no terminal): flags, else what is known, else the
 * defaults. Known values are checked like typed ones, so a bad one is named now.
 */
export function answersFromFlags(flags: InitFlags, known: Known): InitAnswers {
  return {
    edgeUrl: flags.edgeUrl ?? orThrow(parseEdgeUrl(known('HEARTH_EDGE_URL') || DEFAULT_EDGE_URL), 'HEARTH_EDGE_URL'),
    platforms: flags.platforms ?? knownPlatforms(known),
    telegramBotToken: orThrow(parseBotToken(known('TELEGRAM_BOT_TOKEN')), 'TELEGRAM_BOT_TOKEN'),
    telegramBotUsername: orThrow(parseBotUsername(known('TELEGRAM_BOT_USERNAME')), 'TELEGRAM_BOT_USERNAME'),
    whatsappAppSecret: known('WHATSAPP_APP_SECRET'),
    whatsappAccessToken: known('WHATSAPP_ACCESS_TOKEN'),
    whatsappPhoneNumberId: orThrow(parsePhoneNumberId(known('WHATSAPP_PHONE_NUMBER_ID')), 'WHATSAPP_PHONE_NUMBER_ID'),
    emailAddress: orThrow(parseEmailAddress(known('EMAIL_ADDRESS')), 'EMAIL_ADDRESS'),
    policy: flags.policy ?? orThrow(parsePolicy(known('HEARTH_ACCESS_POLICY') || 'pairing'), 'HEARTH_ACCESS_POLICY'),
    allowlist: flags.allowlist ?? orThrow(parseAllowlist(known('HEARTH_ALLOWLIST')), 'HEARTH_ALLOWLIST'),
  };
}

/**
 * Asks each question, offering the non-interactive answer as the default (so Enter keeps what
 * is set). A secret already set is never shown: Enter keeps it.
 */
export async function askAnswers(prompter: Prompter, defaults: InitAnswers): Promise<InitAnswers> {
  const secret = (value: string, empty: string) => ({ secret: true, default: value, hint: value ? 'set: Enter keeps it' : empty });
  const answers: InitAnswers = { ...defaults };
  answers.edgeUrl = await prompter.askValid("The edge's URL (where the core dials)", { default: defaults.edgeUrl }, parseEdgeUrl);
  answers.platforms = await prompter.askValid('Platforms: telegram, whatsapp, slack, discord, email, a list of them, both or none', { default: platformChoice(defaults.platforms) }, parsePlatforms);
  if (answers.platforms.includes('telegram')) {
    answers.telegramBotToken = await prompter.askValid(
      'Telegram bot token, from @BotFather',
      secret(defaults.telegramBotToken, 'empty: a local stand-in answers for now'),
      parseBotToken,
    );
    answers.telegramBotUsername = await prompter.askValid(
      'Telegram bot username (optional: lets @-mentions address it in groups)',
      { default: defaults.telegramBotUsername },
      parseBotUsername,
    );
  }
  if (answers.platforms.includes('whatsapp')) {
    answers.whatsappAppSecret = await prompter.askValid("WhatsApp: the Meta app's secret", secret(defaults.whatsappAppSecret, 'empty: fill in later'), parseLine);
    answers.whatsappAccessToken = await prompter.askValid(
      'WhatsApp: a Cloud API access token',
      secret(defaults.whatsappAccessToken, 'empty: fill in later'),
      parseLine,
    );
    answers.whatsappPhoneNumberId = await prompter.askValid(
      'WhatsApp: the phone number id',
      { default: defaults.whatsappPhoneNumberId, hint: defaults.whatsappPhoneNumberId || 'empty: fill in later' },
      parsePhoneNumberId,
    );
  }
  if (answers.platforms.includes('email')) {
    answers.emailAddress = await prompter.askValid(
      "E-mail: the assistant's address (its domain on Cloudflare Email Routing)",
      { default: defaults.emailAddress, hint: defaults.emailAddress || 'empty: fill in later' },
      parseEmailAddress,
    );
  }
  answers.policy = await prompter.askValid('Who may talk to the assistant: pairing, allowlist or open', { default: defaults.policy }, parsePolicy);
  answers.allowlist = await prompter.askValid(
    'Senders always let in, comma-separated platform:id (e.g. telegram:42)',
    { default: defaults.allowlist, hint: defaults.allowlist || 'none' },
    parseAllowlist,
  );
  return answers;
}

const platformChoice = (platforms: readonly InitPlatform[]): string =>
  platforms.length === 0 ? 'none' : platforms.join(',') === 'telegram,whatsapp' ? 'both' : platforms.join(',');
