import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { relayFor } from '../../src/relay/stub.js';
import { postWebhook, textUpdate, waitFor } from '../helpers.js';
import { pairingNotices, whereIs } from './access-helpers.js';

const outboxFor = (conversationId: string) =>
  runInDurableObject(relayFor(env), (_relay, state) =>
    state.storage.sql.exec('SELECT key FROM outbox WHERE conversation_id = ?', conversationId).toArray(),
  );

// HEARTH_PAIRING_MAX_PENDING is 3 (vitest.config.ts). Its own file: its own Relay storage.
describe('pending pairing codes', () => {
  it('are few: past the limit, unknown senders get no code and nothing is kept', async () => {
    for (const chat of [7201, 7202, 7203]) {
      await postWebhook(textUpdate(chat, 'hi'));
      await waitFor(async () => (await pairingNotices(chat))[0], `a code for ${chat}`);
    }
    const fourth = textUpdate(7204, 'me too');
    expect(await (await postWebhook(fourth)).json()).toMatchObject({ stored: 0, withheld: 1 });
    expect(await whereIs(`telegram:7204:${fourth.message.message_id}`)).toBe('nowhere');
    // A notice is written to the outbox with its code, in the same transaction: none there, none issued.
    expect(await outboxFor('telegram:7204')).toEqual([]);
    expect(await pairingNotices(7204)).toEqual([]);
  });
});
