import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Device, issueToken } from '../support/client-api.js';
import { startSystem, type System } from '../support/system.js';

/**
 * Two real cores sharing a Redis (and so a job queue: either may answer a message) keep the
 * history of API conversations alike: each turn a core stores crosses Redis pub/sub to the
 * other's disk. So whichever core the edge asks, a device gets the whole history.
 */
const REDIS_URL = process.env.HEARTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let system: System;
beforeAll(async () => {
  system = await startSystem({
    cores: 2,
    coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_ECHO_DELAY_MS: '30', HEARTH_SEQUENCES: '3', REDIS_URL, HEARTH_REDIS_PREFIX: `hearth-e2e-${randomUUID()}:` },
  });
});
afterAll(() => system?.stop());

describe('history across cores sharing a Redis', () => {
  it('is whole on either core, whichever answered', async () => {
    const token = await issueToken(system, 'dora');
    const device = await Device.connect(system.edge.url, token);
    const conversations = Array.from({ length: 8 }, (_, i) => `multi-${i}`);
    const post = (conversation: string, text: string) =>
      fetch(`${system.edge.url}/v1/messages`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ conversation_id: conversation, text }),
      }).then(async (r) => ((await r.json()) as { id: string }).id);
    await Promise.all(
      conversations.map(async (conversation) => {
        for (const text of ['first', 'second']) {
          const id = await post(conversation, `${conversation} ${text}`);
          await device.next('message', (e) => e.item.in_reply_to === id);
        }
      }),
    );
    await device.close();
    // Both cores answered some of them (the shared queue spreads the work).
    const answeredBy = system.cores.map((core) => core.lines.filter((l) => l.msg === 'replied' && String(l.messageId).startsWith('api:dora:')).length);
    expect(answeredBy.every((n) => n > 0)).toBe(true);

    // Only the second core is left to ask: it has the first one's turns too.
    await system.cores[0]!.stop();
    for (const conversation of conversations) {
      const response = await fetch(`${system.edge.url}/v1/conversations/${conversation}/messages`, { headers: { Authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      const { data } = (await response.json()) as { data: { role: string; text: string }[] };
      expect(data.map((m) => [m.role, m.text])).toEqual([
        ['user', `${conversation} first`],
        ['assistant', `${conversation} first`],
        ['user', `${conversation} second`],
        ['assistant', `${conversation} second`],
      ]);
    }
  });
});
