import { generateCoreKeySet, publicKeySet } from '@hearth/shared';
import type { TestProject } from 'vitest/node';
import { FakeEmailService } from '../../tests/fakes/email-service.js';
import { FakeDiscordApi } from '../../tests/fakes/discord-api.js';
import { APPLICATION_ID, discordKeyPair } from '../../tests/fakes/discord-payloads.js';
import { FakeTelegramBotApi } from '../../tests/fakes/telegram-bot-api.js';
import { FakeIdentityProvider } from '../../tests/fakes/identity-provider.js';
import { FakeSlackWebApi } from '../../tests/fakes/slack-web-api.js';
import { FakeWhatsAppCloudApi } from '../../tests/fakes/whatsapp-cloud-api.js';

declare module 'vitest' {
  export interface ProvidedContext {
    webhookSecret: string;
    botToken: string;
    telegramApiBase: string;
    corePublicJwks: string;
    corePrivateJwks: string;
    /** The fake Graph API's base URL, without the version path (its `/__calls`, `/__fail` live there). */
    whatsappApiBase: string;
    whatsappVerifyToken: string;
    /** Tests sign webhook bodies with it, as Meta does. */
    whatsappAppSecret: string;
    whatsappAccessToken: string;
    whatsappPhoneNumberId: string;
    /** The fake Slack Web API's base URL (its `/__calls`, `/__fail` live there). */
    slackApiBase: string;
    /** Tests sign Events API requests with it, as Slack does. */
    slackSigningSecret: string;
    slackBotToken: string;
    /** The fake send_email binding's base URL (its `/__calls`, `/__fail` live there), and the assistant's address. */
    emailFakeUrl: string;
    emailAddress: string;
    /** HEARTH_LOG_KEY of the `edge` project: keys e-mail's reply contexts and pseudonyms. */
    logKey: string;
    /** The fake Discord API's base URL (its `/__calls`, `/__fail` live there). */
    discordApiBase: string;
    /** The application's key pair, made for this run: the edge verifies with the public key (hex), tests sign with the private key (PKCS #8, base64). */
    discordPublicKey: string;
    discordPrivateKey: string;
    discordBotToken: string;
    /** The fake identity provider: its issuer (= base URL, with `/__calls`), JWKS URL and signing key. */
    idpIssuer: string;
    idpJwksUrl: string;
    idpPrivateJwk: string;
    /** HEARTH_FUZZ_RUNS (0: each fuzz property's default) and the seed every property runs from. */
    fuzzRuns: number;
    fuzzSeed: number;
  }
}

/** Starts the fake Bot API on loopback and mints the core key set the edge is configured with. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const telegram = new FakeTelegramBotApi();
  const whatsapp = new FakeWhatsAppCloudApi();
  const idp = new FakeIdentityProvider();
  const slackBotToken = 'xoxb-1234-5678-TestSlackBotToken';
  const slack = new FakeSlackWebApi(slackBotToken);
  const email = new FakeEmailService();
  const discordBotToken = 'MTEwMDAwMDAwMDAwMDAwMDAwMQ.TestDiscordBotToken';
  const discord = new FakeDiscordApi(APPLICATION_ID, discordBotToken);
  const discordKeys = await discordKeyPair();
  const keys = await generateCoreKeySet();
  project.provide('webhookSecret', 'test-webhook-secret-0123456789');
  project.provide('botToken', '123456:TEST-bot-token');
  project.provide('telegramApiBase', await telegram.start());
  project.provide('corePublicJwks', JSON.stringify(publicKeySet(keys)));
  project.provide('corePrivateJwks', JSON.stringify(keys));
  // The fake WhatsApp Graph API, and the WhatsApp settings the edge and the tests share.
  project.provide('whatsappApiBase', await whatsapp.start());
  project.provide('whatsappVerifyToken', 'test-whatsapp-verify-token');
  project.provide('whatsappAppSecret', 'test-whatsapp-app-secret-0123456789abcdef');
  project.provide('whatsappAccessToken', 'EAATestWhatsAppAccessToken');
  project.provide('whatsappPhoneNumberId', '106540352242922');
  project.provide('slackApiBase', await slack.start());
  project.provide('slackSigningSecret', '8f742231b10e8888abcd99yyyzzz85a5');
  project.provide('slackBotToken', slackBotToken);
  project.provide('emailFakeUrl', await email.start());
  project.provide('emailAddress', 'hearth@assistant.test');
  project.provide('logKey', 'test-log-key-0123456789abcdef');
  project.provide('discordApiBase', await discord.start());
  project.provide('discordPublicKey', discordKeys.publicKey);
  project.provide('discordPrivateKey', discordKeys.privateKey);
  project.provide('discordBotToken', discordBotToken);
  project.provide('fuzzRuns', Number(process.env.HEARTH_FUZZ_RUNS ?? 0));
  // One seed per run of the suite, printed by a failing property so it can be replayed.
  project.provide('fuzzSeed', Number(process.env.HEARTH_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31)));
  await idp.start();
  project.provide('idpIssuer', idp.issuer);
  project.provide('idpJwksUrl', idp.jwksUrl);
  project.provide('idpPrivateJwk', JSON.stringify(await idp.privateJwk()));
  return async () => {
    await Promise.all([telegram.stop(), whatsapp.stop(), slack.stop(), discord.stop(), email.stop(), idp.stop()]);
  };
}
