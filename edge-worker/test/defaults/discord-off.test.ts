import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { commandInteraction, discordHeaders, discordKeyPair, pingInteraction } from '../../../tests/fakes/discord-payloads.js';
import { loadConfig } from '../../src/config.js';
import { storedRows } from '../helpers.js';

// This project sets no DISCORD_* binding: Discord is off.
describe('Discord left unset', () => {
  it('answers 404 at /webhooks/discord, even to a well-signed command or PING, and stores nothing', async () => {
    expect(loadConfig(env).discord).toBeUndefined();
    const { privateKey } = await discordKeyPair();
    const command = commandInteraction({ channel: '1500000000000000001', user: '80351110224678912' }, 'hello');
    for (const body of [command, pingInteraction()]) {
      const raw = JSON.stringify(body);
      const response = await SELF.fetch('https://edge.test/webhooks/discord', { method: 'POST', headers: await discordHeaders(raw, privateKey), body: raw });
      expect(response.status).toBe(404);
    }
    expect(await storedRows(`discord:1500000000000000001:${command.id}`)).toEqual([]);
  });
});
