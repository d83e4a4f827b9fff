import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectExactlyOnceInOrder } from '../support/exactly-once.js';
import { startSystem, textUpdate, type System, type TextUpdate } from '../support/system.js';

/**
 * Two real core processes sharing one Redis: deliveries become BullMQ jobs on a queue both work,
 * so a message taken from the edge by one core may be answered by the other (which acks it over
 * its own tunnel). The Relay's promises must hold all the same.
 */
const REDIS_URL = process.env.HEARTH_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

let system: System;
beforeAll(async () => {
  system = await startSystem({
    cores: 2,
    coreEnv: {
      HEARTH_ENGINE: 'echo',
      HEARTH_ECHO_DELAY_MS: '30',
      HEARTH_SEQUENCES: '3',
      REDIS_URL,
      // This run's own keys and queue, whatever else uses that Redis.
      HEARTH_REDIS_PREFIX: `hearth-e2e-${randomUUID()}:`,
    },
  });
});
afterAll(() => system?.stop());

describe('cores sharing a Redis job queue', () => {
  it('answer every message exactly once and in order, the work spread over both', async () => {
    expect(system.cores.map((core) => core.lines.find((l) => l.msg === 'core started')?.queue)).toEqual(['bullmq', 'bullmq']);
    const accepted: TextUpdate[] = [];
    const chats = Array.from({ length: 10 }, (_, i) => 3700 + i);
    await Promise.all(
      chats.map(async (chat) => {
        for (let n = 0; n < 6; n++) {
          const update = textUpdate(chat, `shared ${n}`);
          expect((await system.postUpdate(update)).status).toBe(200);
          accepted.push(update);
        }
      }),
    );
    await expectExactlyOnceInOrder(system, accepted, 60_000);
    const repliedBy = system.cores.map((core) => core.lines.filter((l) => l.msg === 'replied').length);
    expect(repliedBy.every((n) => n > 0)).toBe(true);
    expect(repliedBy.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(accepted.length);
  });
});
