import { isAbsolute, join, relative, resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseCoreKeySet, parseEdgeConfig, publicKeySet, type AccessPolicy, type CoreKeySet } from '@hearth/shared';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigError } from '../errors.js';
import { readKeySet, writeNewKeySet } from '../keys/key-store.js';
import { EDGE_DIR } from './edge-process.js';
import { answersFromFlags, askAnswers, parseAllowlist, parseEdgeUrl, parsePlatforms, parsePolicy, type InitAnswers, type Parsed } from './init-answers.js';
import { generateWebhookSecret, mergeEnvText, readEnvText, writePrivateFile, type EnvEntry } from './init-env.js';
import { createPrompter } from './init-prompt.js';
import { formatInitSummary, initCommands, type InitPlatform, type InitSummary } from './init-steps.js';
import { runCommand } from './run.js';

export interface InitOptions {
  /** Ask the questions (on stdin); otherwise flags, what is already set, then defaults. */
  interactive: boolean;
  json: boolean;
  force: boolean;
  edgeUrl?: string;
  platform?: InitPlatform[];
  policy?: AccessPolicy;
  allowlist?: string;
  keyFile?: string;
  /** The edge's settings file; default edge-worker/.dev.vars of this checkout (what `hearth edge` reads). */
  devVars: string;
  /** The core's settings file; default .env here (what every `hearth` command reads). */
  envFile: string;
}

/** The core key: the one on disk, or a new one (a new one over an old one only with `--force`). */
async function coreKey(path: string, force: boolean): Promise<{ keySet: CoreKeySet; created: boolean }> {
  if (force) return { keySet: await writeNewKeySet(path, true), created: true };
  try {
    return { keySet: await readKeySet(path), created: false };
  } catch (error) {
    if (!(error instanceof ConfigError && (error.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new ConfigError(`${reason}\n  pass --force to replace it with a new key (the edge must then get the new public key)`, { cause: error });
    }
    return { keySet: await writeNewKeySet(path), created: true };
  }
}

/** True when `json` is the same public key set, however it is formatted. */
function sameKeys(json: string | undefined, keys: CoreKeySet): boolean {
  if (!json) return false;
  try {
    return JSON.stringify(publicKeySet(parseCoreKeySet(json, 'HEARTH_CORE_JWKS'))) === JSON.stringify(keys);
  } catch {
    return false;
  }
}

/** The edge's settings for these answers. Generated secrets keep a known value unless forced. */
function edgeEntries(answers: InitAnswers, known: (name: string) => string, jwks: string, force: boolean, logKey: EnvEntry): EnvEntry[] {
  const given = (name: string, value: string): EnvEntry => ({ name, value, replace: true });
  const generated = (name: string): EnvEntry => {
    const value = force ? '' : known(name);
    return { name, value: value || generateWebhookSecret(), replace: force };
  };
  const entries: EnvEntry[] = [given('HEARTH_CORE_JWKS', jwks)];
  if (answers.platforms.includes('telegram')) {
    entries.push(generated('TELEGRAM_WEBHOOK_SECRET'), given('TELEGRAM_BOT_TOKEN', answers.telegramBotToken));
    if (answers.telegramBotUsername) entries.push(given('TELEGRAM_BOT_USERNAME', answers.telegramBotUsername));
  }
  if (answers.platforms.includes('whatsapp')) {
    entries.push(
      generated('WHATSAPP_VERIFY_TOKEN'),
      given('WHATSAPP_APP_SECRET', answers.whatsappAppSecret),
      given('WHATSAPP_ACCESS_TOKEN', answers.whatsappAccessToken),
      given('WHATSAPP_PHONE_NUMBER_ID', answers.whatsappPhoneNumberId),
    );
  }
  if (answers.platforms.includes('email')) entries.push(given('EMAIL_ADDRESS', answers.emailAddress));
  entries.push(given('HEARTH_ACCESS_POLICY', answers.policy));
  if (answers.allowlist) entries.push(given('HEARTH_ALLOWLIST', answers.allowlist));
  entries.push(logKey);
  return entries;
}

/**
 * `hearth init`: sets up a core and its edge. Creates the core key (never replacing one without
 * `force`), writes the core's settings to `.env` and the edge's to `.dev.vars` (merged: what is
 * set stays unless a flag or an answer changes it, generated secrets stay unless `force`; mode
 * 0600), and returns what it did and the commands that take it to production. Values of
 * secrets never appear in what it returns.
 */
async function runInit(options: InitOptions): Promise<InitSummary> {
  const [coreText, edgeText] = await Promise.all([readEnvText(options.envFile), readEnvText(options.devVars)]);
  const core = parseEnv(coreText);
  const edge = parseEnv(edgeText);
  // Files first: the environment also holds what .env set, and .dev.vars is being written.
  const known = (name: string) => edge[name] || core[name] || process.env[name] || '';

  const flags = { edgeUrl: options.edgeUrl, platforms: options.platform, policy: options.policy, allowlist: options.allowlist };
  let answers = answersFromFlags(flags, known);
  if (options.interactive) {
    const prompter = createPrompter();
    try {
      answers = await askAnswers(prompter, answers);
    } finally {
      prompter.close();
    }
  }

  const keyPath = options.keyFile ?? (process.env.HEARTH_KEY_FILE || '.hearth/core-key.json');
  const { keySet, created } = await coreKey(keyPath, options.force);
  const publicJwks = publicKeySet(keySet);
  const jwks = sameKeys(edge.HEARTH_CORE_JWKS, publicJwks) ? (edge.HEARTH_CORE_JWKS ?? '') : JSON.stringify(publicJwks);

  const comment = `written by hearth init, ${new Date().toISOString()}`;
  // One pseudonym key in both files: a WhatsApp sender has the same pseudonym in both logs.
  const logKey: EnvEntry = { name: 'HEARTH_LOG_KEY', value: (options.force ? '' : known('HEARTH_LOG_KEY')) || generateWebhookSecret(), replace: options.force };
  const coreMerge = mergeEnvText(
    coreText,
    [
      { name: 'HEARTH_EDGE_URL', value: answers.edgeUrl, replace: true },
      { name: 'HEARTH_KEY_FILE', value: keyPath, replace: options.keyFile !== undefined || options.force },
      logKey,
    ],
    comment,
  );
  const edgeMerge = mergeEnvText(edgeText, edgeEntries(answers, known, jwks, options.force, logKey), comment);
  await writePrivateFile(options.envFile, coreMerge.text);
  await writePrivateFile(options.devVars, edgeMerge.text);

  const warnings: string[] = [];
  const merged = parseEnv(edgeMerge.text);
  const checked = parseEdgeConfig(merged);
  if (!checked.ok) {
    // Empty placeholders are reported as "still to fill in"; anything else wrong is worth a line.
    warnings.push(...checked.problems.filter((p) => !edgeMerge.missing.some((name) => p.startsWith(`${name} is missing`))));
  }
  for (const name of Object.keys(merged)) {
    const outside = process.env[name];
    if (outside && merged[name] && outside !== merged[name]) {
      warnings.push(`${name} is also set in the environment or .env, and that value wins over ${displayPath(options.devVars)} when the edge runs here: remove it there`);
    }
  }

  return {
    edgeUrl: answers.edgeUrl,
    platforms: answers.platforms,
    keyFile: { path: resolve(keyPath), created },
    publicJwks,
    files: {
      core: { path: resolve(options.envFile), written: coreMerge.written, kept: coreMerge.kept, missing: coreMerge.missing },
      edge: { path: resolve(options.devVars), written: edgeMerge.written, kept: edgeMerge.kept, missing: edgeMerge.missing },
    },
    warnings,
    commands: initCommands(answers.edgeUrl, answers.platforms, EDGE_DIR, resolve(options.devVars)),
  };
}

/** A path as short as it reads well: relative to here when inside it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), resolve(path));
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? resolve(path) : rel;
}

/** Turns a `Parsed` validator into a commander argument parser. */
const flag =
  <T>(parse: (text: string) => Parsed<T>) =>
  (text: string): T => {
    const parsed = parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) throw new InvalidArgumentError(parsed.error);
    return parsed;
  };

/** Registers `hearth init`. */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description('set up this machine: the core key, .env for the core, .dev.vars for the edge; then prints how to deploy')
    .option('-y, --yes', 'ask nothing: flags, settings already made, else defaults (also when stdin is not a terminal)', false)
    .addOption(new Option('--interactive', 'ask even when stdin is not a terminal (answers piped in)').default(false).conflicts('yes'))
    .option('--edge-url <url>', "the edge's URL, where the core dials (HEARTH_EDGE_URL; default http://127.0.0.1:8787)", flag(parseEdgeUrl))
    .option('--platform <name>', 'telegram (default), whatsapp, slack, discord, email, a list (telegram,slack), both or none (the client API and web chat only)', flag(parsePlatforms))
    .option('--policy <policy>', 'who may talk to the assistant: pairing (default), allowlist or open (HEARTH_ACCESS_POLICY)', flag(parsePolicy))
    .option('--allowlist <senders>', 'senders always let in, comma-separated platform:id (HEARTH_ALLOWLIST)', flag(parseAllowlist))
    .option('--key-file <path>', 'the core key (HEARTH_KEY_FILE; default .hearth/core-key.json)')
    .option('--dev-vars <path>', "the edge's settings file", join(EDGE_DIR, '.dev.vars'))
    .option('--env-file <path>', "the core's settings file", '.env')
    .option('--force', 'replace the core key and the generated secrets (the edge must then get them again)', false)
    .option('--json', 'print a JSON summary for programs (no secrets, no private key)', false)
    .action(({ yes, ...options }: InitOptions & { yes: boolean }) =>
      runCommand(async () => {
        const interactive = options.interactive || (!yes && process.stdin.isTTY === true);
        const summary = await runInit({ ...options, interactive });
        process.stdout.write(options.json ? `${JSON.stringify(summary, null, 2)}\n` : formatInitSummary(summary, displayPath));
      }),
    );
}
