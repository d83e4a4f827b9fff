import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * An edge with no messaging platform set up: the client API and the web chat are a deployment
 * of their own (someone who only wants their model from anywhere needs no bot).
 */
let system: System;
beforeAll(async () => {
  // Empty settings count as unset (and win over any edge-worker/.dev.vars on this machine).
  system = await startSystem({ edgeVars: { TELEGRAM_WEBHOOK_SECRET: '', TELEGRAM_BOT_TOKEN: '' } });
});
afterAll(() => system?.stop());

describe('an edge without Telegram or WhatsApp', () => {
  it('answers API clients through the home model, serves the web chat, and has no webhooks', async () => {
    const openai = new OpenAI({ apiKey: await issueToken(system, 'solo'), baseURL: `${system.edge.url}/v1`, maxRetries: 0, timeout: 60_000 });
    const completion = await openai.chat.completions.create({ model: 'stories260K', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 16 });
    expect(completion.choices[0]?.message.content?.trim().length).toBeGreaterThan(0);

    const page = await fetch(`${system.edge.url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>');

    const webhook = await system.postUpdate({ update_id: 1, message: { message_id: 1, date: 0, chat: { id: 1, type: 'private' }, text: 'hi' } });
    expect(webhook.status).toBe(404);
    expect(await webhook.json()).toMatchObject({ ok: false, error: { code: 'not_found' } });
  }, 60_000);
});
