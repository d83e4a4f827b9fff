import { runInDurableObject } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { relayFor } from '../src/relay/stub.js';
import { accessCommand, ownerTunnel } from './defaults/access-helpers.js';
import { TestTunnel, postWebhook, textUpdate, waitFor } from './helpers.js';

// Its own file: its own Relay storage, so the figures are this test's alone.
describe('hearth status, the edge side', () => {
  it("reports the queue, the cores with their windows and holdings, and what the Relay did since it woke", async () => {
    const before = Date.now();
    for (const text of ['one', 'two']) expect((await postWebhook(textUpdate(4101, text))).status).toBe(200);
    await postWebhook(textUpdate(4102, 'three'));
    const worker = await TestTunnel.viaRoute('core-status');
    await worker.hello(1, 'core-status');
    await worker.next('deliver');

    const owner = await ownerTunnel();
    const { ok, status } = await accessCommand(owner, { action: 'status' });
    expect(ok).toBe(true);
    expect(status).toMatchObject({ pending: 3, in_flight: 1, dead_letters: 0, outbox_unsent: 0, pairing_pending: 0 });
    expect(status?.cores).toEqual(
      expect.arrayContaining([
        { core_id: 'core-status', window: 1, in_flight: 1 },
        { core_id: 'owner-core', window: 0, in_flight: 0 },
      ]),
    );
    expect(status?.counters).toMatchObject({ messages_stored: 3, deliveries: 1 });
    // The object woke for this file's first webhook.
    expect(status?.since).toBeGreaterThanOrEqual(before);
    expect(status?.since).toBeLessThanOrEqual(Date.now());
    worker.close();
    owner.close();
    // The file ends here: let the Relay finish with both closes (and their log lines) first, or
    // the test pool tears down while it still writes them.
    await waitFor(
      () => runInDurableObject(relayFor(env), (_relay, state) => (state.getWebSockets('core').length === 0 ? true : undefined)),
      'both tunnels closed at the Relay',
    );
  });
});
