import { SELF } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { deliverEmail, EML, eml, idsOf } from '../email-helpers.js';
import { storedRows } from '../helpers.js';

// This project sets no EMAIL_ADDRESS: e-mail is off (wrangler.jsonc's send_email binding is there all the same).
describe('e-mail left unset', () => {
  it('rejects mail routed to the worker, saying why, and stores nothing', async () => {
    expect(loadConfig(env).email).toBeUndefined();
    const messageId = '<off-0001@mail.example.com>';
    const { rejected } = await deliverEmail(eml(EML.plain, { 'Message-ID': messageId }), { to: 'hearth@assistant.test' });
    expect(rejected).toMatch(/e-mail is not set up.*EMAIL_ADDRESS/);
    expect(await storedRows((await idsOf('ada@example.com', messageId)).messageId)).toEqual([]);
  });

  it('answers 404 at /webhooks/email', async () => {
    expect((await SELF.fetch('https://edge.test/webhooks/email', { method: 'POST', body: 'x' })).status).toBe(404);
  });
});
