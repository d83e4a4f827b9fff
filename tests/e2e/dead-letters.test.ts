import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreProcess } from '../support/core-process.js';
import { startSystem, textUpdate, type System } from '../support/system.js';

let system: System;
beforeAll(async () => {
  // One attempt allowed, and a core that takes 5 s: killing it makes its message a dead letter.
  system = await startSystem({
    coreEnv: { HEARTH_ENGINE: 'echo', HEARTH_ECHO_DELAY_MS: '5000', LOG_LEVEL: 'debug' },
    edgeVars: { HEARTH_MAX_ATTEMPTS: '1' },
  });
});
afterAll(() => system?.stop());

describe('dead letters', () => {
  it('are listed by `hearth dead-letters`, opened at home with the core key', async () => {
    const update = textUpdate(3601, 'a poison pill');
    expect((await system.postUpdate(update)).status).toBe(200);
    await system.core.waitForLog((l) => l.msg === 'delivery received' && l.messageId === `telegram:3601:${update.message.message_id}`);
    await system.core.stop('SIGKILL');
    await system.startCore({ HEARTH_ENGINE: 'echo' });
    await expect.poll(() => system.edgeLines.some((l) => l.includes('"event":"dead_lettered"')), { timeout: 10_000 }).toBe(true);

    const cli = new CoreProcess(system.coreCliEnv, ['dead-letters', '--json']);
    expect(await cli.exited).toBe(0);
    const letters = JSON.parse(cli.stdout) as { messageId: string; reason: string; attempts: number; text: string | null }[];
    expect(letters).toEqual([
      expect.objectContaining({ messageId: `telegram:3601:${update.message.message_id}`, reason: 'max_attempts', attempts: 1, text: 'a poison pill' }),
    ]);
    // And it was never answered.
    expect(system.telegram.callsOf('sendMessage').filter((c) => c.body.chat_id === '3601')).toEqual([]);
  });
});
