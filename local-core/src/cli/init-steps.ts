import { EDGE_SECRETS, type CoreKeySet } from '@hearth/shared';

export type InitPlatform = 'telegram' | 'whatsapp' | 'slack' | 'discord' | 'email';

/** What `hearth init` did to one settings file: names only, never values. */
export interface FileReport {
  path: string;
  written: string[];
  kept: string[];
  /** Left empty for the user to fill in. */
  missing: string[];
}

/** The commands that take this set-up to production; secrets appear as names, never values. */
export interface InitCommands {
  /** Where the wrangler commands run (the edge worker's folder). */
  edgeDir: string;
  secrets: string[];
  deploy: string;
  telegramSetWebhook?: string;
  /** What to enter in the Meta app's WhatsApp configuration; the verify token by where it is kept. */
  whatsapp?: { callbackUrl: string; verifyToken: { variable: string; file: string }; fields: string[] };
  /** The Interactions Endpoint URL to enter in the Developer Portal, and the slash commands' registration. */
  discord?: { interactionsUrl: string; register: string };
  /** E-mail: the Email Routing rule to add in the Cloudflare dashboard (docs/platforms.md: "Email"). */
  email?: { rule: string };
  startCore: string;
}

/** `hearth init --json`: what was done and what to run next. Holds no private key material. */
export interface InitSummary {
  edgeUrl: string;
  platforms: InitPlatform[];
  keyFile: { path: string; created: boolean };
  publicJwks: CoreKeySet;
  /** `.env` (the core's settings) and `.dev.vars` (the edge's). */
  files: { core: FileReport; edge: FileReport };
  warnings: string[];
  commands: InitCommands;
}

/** Where `wrangler deploy` puts the worker (its name in wrangler.jsonc), for commands written before it exists. */
export const DEPLOYED_PLACEHOLDER = 'https://hearth-edge.<you>.workers.dev';

/** The update types the edge's Telegram adapter handles: what setWebhook should subscribe to. */
const TELEGRAM_UPDATES = '["message","edited_message","channel_post","callback_query"]';

/**
 * The edge URL platforms will call: the configured one when it is public, else the placeholder
 * for the deployed worker (Telegram and Meta cannot call a loopback or plain-http address).
 */
export function publicEdgeUrl(edgeUrl: string): string {
  const url = new URL(edgeUrl);
  const local = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|0\.0\.0\.0)$/.test(url.hostname);
  return url.protocol === 'https:' && !local ? edgeUrl.replace(/\/+$/, '') : DEPLOYED_PLACEHOLDER;
}

/**
 * The `wrangler secret put` names a deployment with these platforms needs: the core key and
 * each chosen platform's secrets (from EDGE_SECRETS), plus WhatsApp's phone number id and the
 * e-mail address, which docs/platforms.md puts the same way though they are no secrets.
 */
export function deploymentSecrets(platforms: readonly InitPlatform[]): string[] {
  const prefixes = ['HEARTH_', ...platforms.map((p) => `${p.toUpperCase()}_`)];
  const names: string[] = EDGE_SECRETS.filter((name) => prefixes.some((prefix) => name.startsWith(prefix)));
  if (platforms.includes('whatsapp')) names.push('WHATSAPP_PHONE_NUMBER_ID');
  if (platforms.includes('email')) names.push('EMAIL_ADDRESS');
  return names;
}

/** Telegram's setWebhook call, exactly as docs/platforms.md gives it, with secrets left as shell variables. */
export function telegramSetWebhook(edgeUrl: string): string {
  return [
    'curl "https://api.telegram.org/bot$TELEGRAM_BOT_TOKEN/setWebhook" \\',
    `  -d "url=${publicEdgeUrl(edgeUrl)}/webhooks/telegram" \\`,
    '  -d "secret_token=$TELEGRAM_WEBHOOK_SECRET" \\',
    `  -d 'allowed_updates=${TELEGRAM_UPDATES}'`,
  ].join('\n');
}

/** Every command of the way to production, for these platforms. */
export function initCommands(edgeUrl: string, platforms: readonly InitPlatform[], edgeDir: string, devVars: string): InitCommands {
  return {
    edgeDir,
    secrets: deploymentSecrets(platforms).map((name) => `npx wrangler secret put ${name}`),
    deploy: 'npx wrangler deploy',
    ...(platforms.includes('telegram') ? { telegramSetWebhook: telegramSetWebhook(edgeUrl) } : {}),
    ...(platforms.includes('whatsapp')
      ? {
          whatsapp: {
            callbackUrl: `${publicEdgeUrl(edgeUrl)}/webhooks/whatsapp`,
            verifyToken: { variable: 'WHATSAPP_VERIFY_TOKEN', file: devVars },
            fields: ['messages'],
          },
        }
      : {}),
    ...(platforms.includes('discord')
      ? { discord: { interactionsUrl: `${publicEdgeUrl(edgeUrl)}/webhooks/discord`, register: 'npx hearth discord register' } }
      : {}),
    ...(platforms.includes('email') ? { email: { rule: 'Email Routing → Routing rules: a custom address (EMAIL_ADDRESS), action "Send to a Worker", worker hearth-edge' } } : {}),
    startCore: 'npm run start:core',
  };
}

/** Where each secret's value comes from, as a comment beside its `secret put`. */
const SOURCE: Record<string, string> = {
  HEARTH_CORE_JWKS: 'paste the public key set printed above',
  TELEGRAM_BOT_TOKEN: 'from @BotFather',
  WHATSAPP_APP_SECRET: "the Meta app's secret",
  WHATSAPP_ACCESS_TOKEN: 'a WhatsApp Cloud API access token',
  WHATSAPP_PHONE_NUMBER_ID: 'not secret, but set like the others',
  SLACK_SIGNING_SECRET: "the Slack app's Signing Secret (Basic Information)",
  SLACK_BOT_TOKEN: "the Slack app's Bot User OAuth Token, xoxb-… (OAuth & Permissions)",
  DISCORD_PUBLIC_KEY: 'the Discord application\'s Public Key (General Information)',
  DISCORD_APPLICATION_ID: 'its Application ID (General Information), not secret',
  DISCORD_BOT_TOKEN: 'its bot token (Bot → Reset Token)',
  EMAIL_ADDRESS: 'not secret: the address mail to the assistant is routed from',
};

/** What an empty setting is waiting for. */
const FILL_HINT: Record<string, string> = {
  TELEGRAM_BOT_TOKEN: 'from @BotFather; until then npm start answers through a local stand-in for the Bot API',
  WHATSAPP_APP_SECRET: "the Meta app's secret (App settings, Basic)",
  WHATSAPP_ACCESS_TOKEN: "a Cloud API access token (the Meta app's WhatsApp API setup)",
  WHATSAPP_PHONE_NUMBER_ID: "the phone number id (the Meta app's WhatsApp API setup)",
  EMAIL_ADDRESS: "the assistant's address on a domain with Cloudflare Email Routing, e.g. hearth@example.com",
};

/** The value of NAME in a dotenv file, as a shell expression (for the setWebhook call). */
const fromFile = (name: string, file: string) => `export ${name}="$(sed -n 's/^${name}=//p' ${file})"`;

/** `hearth init`'s report for people: what it wrote, then the next steps, in order. */
export function formatInitSummary(summary: InitSummary, display: (path: string) => string): string {
  const { commands } = summary;
  const out: string[] = [];
  const key = display(summary.keyFile.path);
  const files = [summary.files.core, summary.files.edge];
  const width = Math.max(key.length, ...files.map((f) => display(f.path).length));
  out.push(`${key.padEnd(width)}  ${summary.keyFile.created ? 'new core key' : 'core key kept'} (private, mode 0600: keep it at home)`);
  for (const file of files) {
    const parts = [
      file.written.length > 0 ? `wrote ${file.written.join(', ')}` : '',
      file.kept.length > 0 ? `kept ${file.kept.join(', ')}` : '',
    ].filter(Boolean);
    out.push(`${display(file.path).padEnd(width)}  ${parts.join('; ') || 'unchanged'}`);
  }
  for (const file of files) {
    if (file.missing.length === 0) continue;
    out.push(`! still to fill in, in ${display(file.path)}:`);
    for (const name of file.missing) out.push(`    ${name}${FILL_HINT[name] ? `: ${FILL_HINT[name]}` : ''}`);
  }
  for (const warning of summary.warnings) out.push(`! ${warning}`);

  const devVars = display(summary.files.edge.path);
  out.push('', 'The edge\'s public key set (HEARTH_CORE_JWKS, already in the edge settings):', `  ${JSON.stringify(summary.publicJwks)}`);
  out.push('', 'Run everything on this machine:', '  npm start');
  out.push('', 'Deploy the edge:', `  cd ${display(commands.edgeDir)}`);
  const commandWidth = Math.max(...commands.secrets.map((c) => c.length));
  for (const command of commands.secrets) {
    const name = command.split(' ').at(-1) ?? '';
    out.push(`  ${command.padEnd(commandWidth)}   # ${SOURCE[name] ?? `the value in ${devVars}`}`);
  }
  out.push(`  ${commands.deploy}`);
  if (summary.edgeUrl === publicEdgeUrl(summary.edgeUrl)) {
    out.push(`  (the core will dial ${summary.edgeUrl})`);
  } else {
    out.push('  then put the URL it prints in .env as HEARTH_EDGE_URL (or run `npx hearth init --edge-url URL`)');
  }
  if (commands.telegramSetWebhook) {
    out.push('', `Point your Telegram bot at it (its token and webhook secret are in ${devVars}):`);
    out.push(`  ${fromFile('TELEGRAM_BOT_TOKEN', devVars)}`, `  ${fromFile('TELEGRAM_WEBHOOK_SECRET', devVars)}`);
    out.push(...commands.telegramSetWebhook.split('\n').map((line) => `  ${line}`));
  }
  if (commands.whatsapp) {
    out.push('', "WhatsApp: in the Meta app's WhatsApp configuration, set");
    out.push(`  callback URL   ${commands.whatsapp.callbackUrl}`);
    const { variable, file } = commands.whatsapp.verifyToken;
    out.push(`  verify token   the ${variable} in ${display(file)} (show it: sed -n 's/^${variable}=//p' ${display(file)})`);
    out.push(`  and subscribe to the ${commands.whatsapp.fields.join(', ')} field`);
  }
  if (commands.discord) {
    out.push('', `Discord: in the Developer Portal set the Interactions Endpoint URL to ${commands.discord.interactionsUrl},`);
    out.push('  then, with DISCORD_APPLICATION_ID and DISCORD_BOT_TOKEN in .env or the shell:', `  ${commands.discord.register}`);
  }
  if (commands.email) out.push('', 'E-mail: in the Cloudflare dashboard, on the domain of EMAIL_ADDRESS,', `  ${commands.email.rule}`);
  out.push('', 'Then, at home:', `  ${commands.startCore}`, '', 'Check it all with: npx hearth doctor', '');
  return out.join('\n');
}
