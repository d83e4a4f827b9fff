import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEdgeProcess, writeNewKeySet, type EdgeProcess } from '@hearth/core';
import { publicKeySet, signClientToken, type ClientScope, type CoreKeySet } from '@hearth/shared';
import { FakeDiscordApi } from '../fakes/discord-api.js';
import { APPLICATION_ID, discordHeaders, discordKeyPair } from '../fakes/discord-payloads.js';
import { slackHeaders } from '../fakes/slack-payloads.js';
import { FakeSlackWebApi } from '../fakes/slack-web-api.js';
import { FakeTelegramBotApi } from '../fakes/telegram-bot-api.js';
import { hubSignature, textWebhook } from '../fakes/whatsapp-payloads.js';
import { FakeWhatsAppCloudApi } from '../fakes/whatsapp-cloud-api.js';
import { CoreProcess } from './core-process.js';
import { TcpProxy } from './tcp-proxy.js';

/** The small real model end-to-end runs use (see ../shared/models/README.md). */
export const TEST_MODEL = resolve(process.env.HEARTH_TEST_MODEL ?? join(import.meta.dirname, '../../../shared/models/stories260K.gguf'));
export const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';
export const BOT_TOKEN = '123456:E2E-token';
/** WhatsApp settings of a system started with `whatsapp: true`. */
export const WHATSAPP = {
  verifyToken: 'e2e-whatsapp-verify-token',
  appSecret: 'e2e-whatsapp-app-secret-0123456789abcdef',
  accessToken: 'EAAE2EWhatsAppAccessToken0123',
  phoneNumberId: '106540352242922',
} as const;

/** E-mail settings of a system started with `email: true`. */
export const EMAIL = { address: 'hearth@assistant.test', logKey: 'e2e-log-key-0123456789abcdef' } as const;

/** Slack settings of a system started with `slack: true`. */
export const SLACK = {
  signingSecret: 'e2e-slack-signing-secret-0123456789',
  botToken: 'xoxb-e2e-0123-SlackBotToken',
} as const;

/** Discord settings of a system started with `discord: true` (its key pair is made per system). */
export const DISCORD = { applicationId: APPLICATION_ID, botToken: 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.E2EDiscordBotToken' } as const;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface SystemOptions {
  /** Environment of the first core (more with `startCore`); none started when `cores` is 0. */
  coreEnv?: Record<string, string>;
  cores?: number;
  /** Extra edge settings (`--var`). */
  edgeVars?: Record<string, string>;
  /** Put a TCP proxy between cores and the edge (see TcpProxy). */
  proxy?: boolean;
  /** Turn WhatsApp on too, against a fake Graph API (see WHATSAPP for its settings). */
  whatsapp?: boolean;
  /** Turn Slack on too, against a fake Web API (see SLACK for its settings). */
  slack?: boolean;
  /** Turn e-mail on too (see EMAIL): replies go through wrangler's local send_email binding, which writes them to files. */
  email?: boolean;
  /** Turn Discord on too, against a fake Discord API (see DISCORD for its settings). */
  discord?: boolean;
}

export interface System {
  edge: EdgeProcess;
  cores: CoreProcess[];
  /** The first core. */
  core: CoreProcess;
  telegram: FakeTelegramBotApi;
  /** The fake Graph API, when started with `whatsapp: true`. */
  whatsapp: FakeWhatsAppCloudApi | undefined;
  /** The fake Slack Web API, when started with `slack: true`. */
  slack: FakeSlackWebApi | undefined;
  /** The fake Discord API, when started with `discord: true`. */
  discord: FakeDiscordApi | undefined;
  proxy: TcpProxy | undefined;
  /** The core key set every core of this system shares (private: tests sign client tokens with it). */
  keySet: CoreKeySet;
  /** The key file's path. */
  keyFile: string;
  edgeLines: string[];
  /** Environment a `hearth` command needs to act as this system's core. */
  coreCliEnv: Record<string, string>;
  /** POSTs a body to the edge's Telegram webhook. */
  postUpdate(body: unknown, secret?: string | null): Promise<Response>;
  /** POSTs a body to the edge's WhatsApp webhook, signed with the app secret (or `signature` as given). */
  postWhatsApp(body: unknown, signature?: string | null): Promise<Response>;
  /** POSTs a body to the edge's Slack webhook, signed now with the signing secret; `headers` override or add. */
  postSlack(body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Hands a raw mail to the worker's email() handler as Email Routing would (wrangler dev's /cdn-cgi/handler/email). */
  postEmail(raw: string, envelope?: { from?: string; to?: string }): Promise<Response>;
  /** The mail the edge sent through the send_email binding, raw, in the order sent (wrangler logs each file it writes). */
  sentEmails(): Promise<string[]>;
  /** POSTs an interaction to the edge's Discord webhook, signed now with the application's key; `headers` override or add. */
  postDiscord(body: unknown, headers?: Record<string, string>): Promise<Response>;
  /** A client token as `hearth token issue` makes it. */
  clientToken(user: string, scopes?: readonly ClientScope[], ttlSeconds?: number): Promise<string>;
  /** Starts another core process against this edge and waits until it is connected. */
  startCore(env?: Record<string, string>): Promise<CoreProcess>;
  /** Stops the edge (SIGKILL by default: no goodbye) and starts it again on the same port and state. */
  restartEdge(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole system on loopback, with nothing faked but Telegram: the edge under workerd
 * (`wrangler dev`, fresh persisted state), core processes (`hearth start`) sharing one key, and
 * the fake Bot API the edge sends replies to. Whatever it started, it stops, also when
 * starting fails.
 */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-e2e-'));
  const telegram = new FakeTelegramBotApi();
  const whatsapp = options.whatsapp ? new FakeWhatsAppCloudApi() : undefined;
  const slack = options.slack ? new FakeSlackWebApi(SLACK.botToken) : undefined;
  const discord = options.discord ? new FakeDiscordApi(DISCORD.applicationId, DISCORD.botToken) : undefined;
  const discordKeys = options.discord ? await discordKeyPair() : undefined;
  const edgeLines: string[] = [];
  const cores: CoreProcess[] = [];
  let edge: EdgeProcess | undefined;
  let proxy: TcpProxy | undefined;
  const stop = async () => {
    await Promise.all(cores.map((core) => core.stop()));
    await proxy?.stop();
    await edge?.dispose();
    await telegram.stop();
    await whatsapp?.stop();
    await slack?.stop();
    await discord?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keyFile = join(dir, 'core-key.json');
    const keySet = await writeNewKeySet(keyFile);
    const port = await freePort();
    const edgeOptions = {
      port,
      persistTo: join(dir, 'edge-state'),
      vars: {
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        TELEGRAM_BOT_TOKEN: BOT_TOKEN,
        TELEGRAM_API_BASE: await telegram.start(),
        ...(whatsapp
          ? {
              WHATSAPP_VERIFY_TOKEN: WHATSAPP.verifyToken,
              WHATSAPP_APP_SECRET: WHATSAPP.appSecret,
              WHATSAPP_ACCESS_TOKEN: WHATSAPP.accessToken,
              WHATSAPP_PHONE_NUMBER_ID: WHATSAPP.phoneNumberId,
              WHATSAPP_API_BASE: `${await whatsapp.start()}/v21.0`,
            }
          : {}),
        ...(slack
          ? { SLACK_SIGNING_SECRET: SLACK.signingSecret, SLACK_BOT_TOKEN: SLACK.botToken, SLACK_API_BASE: await slack.start() }
          : {}),
        ...(options.email ? { EMAIL_ADDRESS: EMAIL.address, HEARTH_LOG_KEY: EMAIL.logKey } : {}),
        ...(discord && discordKeys
          ? {
              DISCORD_PUBLIC_KEY: discordKeys.publicKey,
              DISCORD_APPLICATION_ID: DISCORD.applicationId,
              DISCORD_BOT_TOKEN: DISCORD.botToken,
              DISCORD_API_BASE: await discord.start(),
            }
          : {}),
        HEARTH_CORE_JWKS: JSON.stringify(publicKeySet(keySet)),
        // Delivery tests let everyone in; tests of who may talk set the policy themselves.
        HEARTH_ACCESS_POLICY: 'open',
        ...options.edgeVars,
      },
      onLine: (line: string) => edgeLines.push(line),
    };
    edge = await startEdgeProcess(edgeOptions);
    let coreEdgeUrl = edge.url;
    if (options.proxy) {
      proxy = new TcpProxy({ host: '127.0.0.1', port });
      coreEdgeUrl = `http://127.0.0.1:${await proxy.start()}`;
    }
    const startCore = async (env: Record<string, string> = options.coreEnv ?? {}) => {
      const core = new CoreProcess({
        HEARTH_EDGE_URL: coreEdgeUrl,
        HEARTH_KEY_FILE: keyFile,
        HEARTH_MODEL: TEST_MODEL,
        HEARTH_THREADS: '1',
        HEARTH_CORE_ID: `e2e-core-${cores.length + 1}`,
        // Each core its own memory (history, dedupe records), as on separate machines.
        HEARTH_DATA_DIR: join(dir, `core-${cores.length + 1}`),
        // Its own admin port (/metrics, /healthz, /status), found in its log.
        HEARTH_ADMIN_PORT: String(await freePort()),
        ...env,
      });
      cores.push(core);
      await core.waitForLog((line) => line.msg === 'tunnel connected');
      return core;
    };
    for (let i = 0; i < (options.cores ?? 1); i++) await startCore();
    const edgeUrl = edge.url;
    return {
      edge,
      cores,
      get core() {
        const first = cores[0];
        if (!first) throw new Error('no core started');
        return first;
      },
      telegram,
      whatsapp,
      slack,
      discord,
      proxy,
      keySet,
      keyFile,
      edgeLines,
      coreCliEnv: { HEARTH_EDGE_URL: edgeUrl, HEARTH_KEY_FILE: keyFile, HEARTH_CORE_ID: 'e2e-cli', HEARTH_DATA_DIR: join(dir, 'cli') },
      postUpdate: (body, secret = WEBHOOK_SECRET) =>
        fetch(`${edgeUrl}/webhooks/telegram`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'X-Telegram-Bot-Api-Secret-Token': secret }) },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
      postWhatsApp: async (body, signature) => {
        const raw = typeof body === 'string' ? body : JSON.stringify(body);
        const header = signature === undefined ? await hubSignature(raw, WHATSAPP.appSecret) : signature;
        return fetch(`${edgeUrl}/webhooks/whatsapp`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(header === null ? {} : { 'X-Hub-Signature-256': header }) },
          body: raw,
        });
      },
      postSlack: async (body, headers = {}) => {
        const raw = typeof body === 'string' ? body : JSON.stringify(body);
        return fetch(`${edgeUrl}/webhooks/slack`, { method: 'POST', headers: { ...(await slackHeaders(raw, SLACK.signingSecret)), ...headers }, body: raw });
      },
      postEmail: (raw, { from = 'ada@example.com', to = EMAIL.address } = {}) =>
        fetch(`${edgeUrl}/cdn-cgi/handler/email?${new URLSearchParams({ from, to })}`, { method: 'POST', body: raw }),
      sentEmails: async () => {
        const files = edgeLines.flatMap((line) => /(\/\S+\/files\/email\/[0-9a-f-]+\.eml)/.exec(line)?.[1] ?? []);
        return Promise.all(files.map((file) => readFile(file, 'utf8')));
      },
      postDiscord: async (body, headers = {}) => {
        if (!discordKeys) throw new Error('Discord is not on in this system');
        const raw = typeof body === 'string' ? body : JSON.stringify(body);
        return fetch(`${edgeUrl}/webhooks/discord`, { method: 'POST', headers: { ...(await discordHeaders(raw, discordKeys.privateKey)), ...headers }, body: raw });
      },
      clientToken: async (user, scopes = ['chat:read', 'chat:write', 'sync'], ttlSeconds = 3_600) =>
        (await signClientToken(keySet, { user, scopes, ttlSeconds })).token,
      startCore,
      restartEdge: async (signal: NodeJS.Signals = 'SIGKILL') => {
        await edge?.dispose(signal);
        edge = await startEdgeProcess(edgeOptions);
      },
      stop,
    };
  } catch (error) {
    // A half-started system must not outlive the test that failed to start it.
    await stop();
    throw error;
  }
}

let nextId = 1;
/** A private text message update, shaped like the Bot API's. */
export function textUpdate(chatId: number, text: string) {
  const id = nextId++;
  return {
    update_id: 10_000 + id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chatId, type: 'private', first_name: 'Ada' },
      from: { id: chatId, is_bot: false, first_name: 'Ada' },
      text,
    },
  };
}

export type TextUpdate = ReturnType<typeof textUpdate>;

/** A WhatsApp Cloud API webhook with one text message, shaped like Meta's. */
export const whatsappText = (from: string, id: string, body: string) =>
  textWebhook([{ from, id, body }], WHATSAPP.phoneNumberId, String(Math.floor(Date.now() / 1000)));
