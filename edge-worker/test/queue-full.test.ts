import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { relayFor } from '../src/relay/stub.js';
import { postWebhook, textUpdate } from './helpers.js';

// This file fills the deployment's Relay to HEARTH_QUEUE_MAX (40 in vitest.config.ts); storage
// is per test file, so no other file sees it full.
describe('a full queue', () => {
  it('answers 503 with Retry-After, so Telegram keeps the update and tries again', async () => {
    const accepted = [];
    for (let n = 0; n < 40; n++) {
      const response = await postWebhook(textUpdate(6000 + n, `fill ${n}`));
      expect(response.status).toBe(200);
      accepted.push(response);
    }
    const overflow = textUpdate(6100, 'one too many');
    const refused = await postWebhook(overflow);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('Retry-After')).toBe('30');
    expect(await refused.json()).toMatchObject({ ok: false, error: { code: 'unavailable' } });
    const stored = await runInDurableObject(relayFor(env), (_r, state) =>
      state.storage.sql.exec('SELECT 1 FROM messages WHERE message_id = ?', `telegram:6100:${overflow.message.message_id}`).toArray(),
    );
    expect(stored).toEqual([]);
  });
});
