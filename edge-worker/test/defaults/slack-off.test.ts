import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { dmEvent, eventCallback, slackHeaders } from '../../../tests/fakes/slack-payloads.js';
import { loadConfig } from '../../src/config.js';
import { storedRows } from '../helpers.js';

// This project sets no SLACK_* binding: Slack is off.
describe('Slack left unset', () => {
  it('answers 404 at /webhooks/slack, even to a well-signed request, and stores nothing', async () => {
    expect(loadConfig(env).slack).toBeUndefined();
    const raw = JSON.stringify(eventCallback(dmEvent('D0OFF0001', 'U0ADA0001', '1764000000.000001', 'hello')));
    const response = await SELF.fetch('https://edge.test/webhooks/slack', {
      method: 'POST',
      headers: await slackHeaders(raw, 'any-signing-secret'),
      body: raw,
    });
    expect(response.status).toBe(404);
    expect(await storedRows('slack:D0OFF0001:1764000000.000001')).toEqual([]);
  });
});
