import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { EDGE_SECRETS } from '@hearth/shared';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_PLACEHOLDER, deploymentSecrets, initCommands, publicEdgeUrl, telegramSetWebhook } from '../../src/cli/init-steps.js';

describe('deployment secrets', () => {
  it('names the core key and only the chosen platforms’ secrets', () => {
    expect(deploymentSecrets(['telegram'])).toEqual(['HEARTH_CORE_JWKS', 'TELEGRAM_WEBHOOK_SECRET', 'TELEGRAM_BOT_TOKEN', 'HEARTH_LOG_KEY']);
    expect(deploymentSecrets(['whatsapp'])).toEqual([
      'HEARTH_CORE_JWKS',
      'WHATSAPP_VERIFY_TOKEN',
      'WHATSAPP_APP_SECRET',
      'WHATSAPP_ACCESS_TOKEN',
      'HEARTH_LOG_KEY',
      'WHATSAPP_PHONE_NUMBER_ID',
    ]);
  });

  it('covers every secret the edge reads when every platform is on', () => {
    expect(deploymentSecrets(['telegram', 'whatsapp', 'slack', 'discord'])).toEqual(expect.arrayContaining([...EDGE_SECRETS]));
    expect(deploymentSecrets(['discord'])).toEqual(['HEARTH_CORE_JWKS', 'DISCORD_PUBLIC_KEY', 'DISCORD_APPLICATION_ID', 'DISCORD_BOT_TOKEN', 'HEARTH_LOG_KEY']);
    expect(deploymentSecrets(['slack'])).toEqual(['HEARTH_CORE_JWKS', 'SLACK_SIGNING_SECRET', 'SLACK_BOT_TOKEN', 'HEARTH_LOG_KEY']);
    // E-mail has no secret of its own: its address is put like one, and HEARTH_LOG_KEY seals what it keeps.
    expect(deploymentSecrets(['email'])).toEqual(['HEARTH_CORE_JWKS', 'HEARTH_LOG_KEY', 'EMAIL_ADDRESS']);
  });
});

describe('public edge URL', () => {
  it('keeps a public https URL, and uses the deployed placeholder for local or plain-http ones', () => {
    expect(publicEdgeUrl('https://hearth.example.workers.dev/')).toBe('https://hearth.example.workers.dev');
    expect(publicEdgeUrl('http://127.0.0.1:8787')).toBe(DEPLOYED_PLACEHOLDER);
    expect(publicEdgeUrl('https://localhost:8787')).toBe(DEPLOYED_PLACEHOLDER);
    expect(publicEdgeUrl('http://edge.example.com')).toBe(DEPLOYED_PLACEHOLDER);
  });
});

describe('setWebhook', () => {
  it('is the command docs/platforms.md gives, word for word', async () => {
    const platforms = await readFile(resolve(import.meta.dirname, '../../../docs/platforms.md'), 'utf8');
    expect(platforms).toContain(telegramSetWebhook('http://127.0.0.1:8787'));
  });

  it('points at a configured public edge', () => {
    expect(telegramSetWebhook('https://edge.example.com')).toContain('-d "url=https://edge.example.com/webhooks/telegram"');
  });

  it('is given only for Telegram, and WhatsApp gets its callback, token and field', () => {
    const whatsappOnly = initCommands('https://edge.example.com', ['whatsapp'], '/x/edge-worker', '/x/edge-worker/.dev.vars');
    expect(whatsappOnly.telegramSetWebhook).toBeUndefined();
    expect(whatsappOnly.whatsapp).toEqual({
      callbackUrl: 'https://edge.example.com/webhooks/whatsapp',
      verifyToken: { variable: 'WHATSAPP_VERIFY_TOKEN', file: '/x/edge-worker/.dev.vars' },
      fields: ['messages'],
    });
    expect(initCommands('http://127.0.0.1:8787', ['telegram'], '/x', '/x/.dev.vars').whatsapp).toBeUndefined();
  });

  it('tells an e-mail set-up which Email Routing rule to add, and no one else', () => {
    expect(initCommands('https://edge.example.com', ['email'], '/x', '/x/.dev.vars').email?.rule).toMatch(/Send to a Worker.*hearth-edge/);
    expect(initCommands('https://edge.example.com', ['telegram'], '/x', '/x/.dev.vars').email).toBeUndefined();
  });

  it('gives Discord its Interactions Endpoint URL and the registration of its commands', () => {
    expect(initCommands('https://edge.example.com', ['discord'], '/x', '/x/.dev.vars').discord).toEqual({
      interactionsUrl: 'https://edge.example.com/webhooks/discord',
      register: 'npx hearth discord register',
    });
    expect(initCommands('https://edge.example.com', ['slack'], '/x', '/x/.dev.vars').discord).toBeUndefined();
  });
});
