import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEdgeProcess, writeNewKeySet, type EdgeProcess } from '@hearth/core';
import { publicKeySet } from '@hearth/shared';
import { FakeTelegramBotApi } from '../fakes/telegram-bot-api.js';
import { CoreProcess } from './core-process.js';

/** The small real model end-to-end runs use (see ../shared/models/README.md). */
export const TEST_MODEL = resolve(process.env.HEARTH_TEST_MODEL ?? join(import.meta.dirname, '../../../shared/models/stories260K.gguf'));
export const WEBHOOK_SECRET = 'e2e-webhook-secret-0123456789';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise((r) => server.close(r));
  if (typeof address !== 'object' || !address) throw new Error('no port');
  return address.port;
}

export interface System {
  edge: EdgeProcess;
  core: CoreProcess;
  telegram: FakeTelegramBotApi;
  edgeLines: string[];
  /** POSTs a body to the edge's Telegram webhook. */
  postUpdate(body: unknown, secret?: string | null): Promise<Response>;
  stop(): Promise<void>;
}

/**
 * The whole system on loopback, with nothing faked but Telegram: the edge under workerd
 * (`wrangler dev`, fresh persisted state), a core process (`hearth start`) with its own key,
 * and the fake Bot API the edge sends replies to.
 */
export async function startSystem(coreEnv: Record<string, string> = {}): Promise<System> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-e2e-'));
  const telegram = new FakeTelegramBotApi();
  const edgeLines: string[] = [];
  let edge: EdgeProcess | undefined;
  let core: CoreProcess | undefined;
  const stop = async () => {
    await core?.stop();
    await edge?.stop();
    await telegram.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const keyFile = join(dir, 'core-key.json');
    const keySet = await writeNewKeySet(keyFile);
    edge = await startEdgeProcess({
      port: await freePort(),
      persistTo: join(dir, 'edge-state'),
      vars: {
        TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
        TELEGRAM_BOT_TOKEN: '123456:E2E-token',
        TELEGRAM_API_BASE: await telegram.start(),
        HEARTH_CORE_JWKS: JSON.stringify(publicKeySet(keySet)),
      },
      onLine: (line) => edgeLines.push(line),
    });
    core = new CoreProcess({
      HEARTH_EDGE_URL: edge.url,
      HEARTH_KEY_FILE: keyFile,
      HEARTH_MODEL: TEST_MODEL,
      HEARTH_THREADS: '1',
      HEARTH_CORE_ID: 'e2e-core',
      ...coreEnv,
    });
    await core.waitForLog((line) => line.msg === 'tunnel connected');
  } catch (error) {
    // A half-started system must not outlive the test that failed to start it.
    await stop();
    throw error;
  }
  const edgeUrl = edge.url;
  return {
    edge,
    core,
    telegram,
    edgeLines,
    postUpdate: (body, secret = WEBHOOK_SECRET) =>
      fetch(`${edgeUrl}/webhooks/telegram`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(secret === null ? {} : { 'X-Telegram-Bot-Api-Secret-Token': secret }) },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    stop,
  };
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
