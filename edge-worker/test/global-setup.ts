import { generateCoreKeySet, publicKeySet } from '@hearth/shared';
import type { TestProject } from 'vitest/node';
import { FakeTelegramBotApi } from '../../tests/fakes/telegram-bot-api.js';

declare module 'vitest' {
  export interface ProvidedContext {
    webhookSecret: string;
    botToken: string;
    telegramApiBase: string;
    corePublicJwks: string;
    corePrivateJwks: string;
  }
}

/** Starts the fake Bot API on loopback and mints the core key set the edge is configured with. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const telegram = new FakeTelegramBotApi();
  const keys = await generateCoreKeySet();
  project.provide('webhookSecret', 'test-webhook-secret-0123456789');
  project.provide('botToken', '123456:TEST-bot-token');
  project.provide('telegramApiBase', await telegram.start());
  project.provide('corePublicJwks', JSON.stringify(publicKeySet(keys)));
  project.provide('corePrivateJwks', JSON.stringify(keys));
  return () => telegram.stop();
}
