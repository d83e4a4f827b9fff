import { describe, expect, it } from 'vitest';
import { tempDir } from '../support.js';
import { copyShippedPlugin, messageIn, openRegistry } from './support.js';

/** The shipped reminders plugin in a real child: short durations, real timers and schedules. */
const pushes = (system: Awaited<ReturnType<typeof openRegistry>>) => system.sent.filter((frame) => frame.type === 'reply');

async function withReminders(options: { at?: string; everySecond?: boolean } = {}) {
  const system = await openRegistry([], options.at ? { at: options.at } : {});
  await copyShippedPlugin(system.root, 'reminders', (manifest) => {
    // The shipped schedule checks every minute; a restart test cannot wait that long.
    if (options.everySecond) manifest.schedules = [{ name: 'due', cron: '* * * * * *' }];
  }).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  });
  await system.registry.reload();
  return system;
}

describe('the reminders plugin', () => {
  it('/remind 1s hello arrives as a push to the same chat after a second, under the reminder id as key, once', async () => {
    const system = await withReminders();
    try {
      const asked = Date.now();
      const reply = await system.registry.runCommand('remind', '1s hello', messageIn(80, '/remind 1s hello'));
      expect(reply).toMatch(/^OK, I will remind you at \d{4}-\d\d-\d\d \d\d:\d\d UTC: hello$/);
      expect(await system.registry.runCommand('reminders', '', messageIn(80, '/reminders'))).toMatch(/: hello$/);
      await expect.poll(() => pushes(system).length, { timeout: 5_000 }).toBe(1);
      expect(Date.now() - asked).toBeGreaterThanOrEqual(900);
      expect(pushes(system)[0]).toEqual({ type: 'reply', key: expect.stringMatching(/^push:reminders:[0-9a-f-]{36}$/), conversation_id: 'telegram:80', in_reply_to: null, text: '⏰ Reminder: hello' });
      expect(await system.registry.runCommand('reminders', '', messageIn(80, '/reminders'))).toBe('No reminders to come.');
      // Once: a later reminder's push comes after any second firing of the first would have.
      await system.registry.runCommand('remind', '1s marker', messageIn(80, '/remind 1s marker'));
      await expect.poll(() => pushes(system).length, { timeout: 5_000 }).toBe(2);
      expect(pushes(system).map((p) => p.text)).toEqual(['⏰ Reminder: hello', '⏰ Reminder: marker']);
    } finally {
      await system.close();
    }
  });

  it('reads "in 2 minutes to stretch" and explains what it needs otherwise', async () => {
    const system = await withReminders();
    try {
      expect(await system.registry.runCommand('remind', 'in 2 minutes to stretch', messageIn(81, '/remind'))).toMatch(/: stretch$/);
      expect(await system.registry.runCommand('remind', 'tomorrow maybe', messageIn(81, '/remind'))).toMatch(/^Tell me when and what/);
      expect(await system.registry.runCommand('remind', '', messageIn(81, '/remind'))).toMatch(/^Tell me when and what/);
    } finally {
      await system.close();
    }
  });

  it('is a tool the model may call: set_reminder delivers at the time asked', async () => {
    const system = await withReminders();
    try {
      const tool = system.registry.toolsFor(messageIn(82, 'remind me in a second to drink water')).find((t) => t.name === 'set_reminder');
      expect(await tool?.call({ in_minutes: 0.02, text: 'drink water' })).toEqual({ ok: true, due_at: expect.any(String), text: 'drink water' });
      await expect.poll(() => pushes(system), { timeout: 5_000 }).toEqual([expect.objectContaining({ conversation_id: 'telegram:82', text: '⏰ Reminder: drink water' })]);
      expect(await tool?.call({ in_minutes: -1, text: 'the past' })).toEqual({ error: expect.stringContaining('/in_minutes must be > 0') });
      // The same message's turn run again (a retry) calling the tool again makes no second reminder.
      const again = system.registry.toolsFor(messageIn(82, 'remind me in an hour to stretch'));
      const first = (await again[0]?.call({ in_minutes: 60, text: 'stretch' })) as { due_at: string };
      expect(await again[0]?.call({ in_minutes: 60, text: 'stretch' })).toEqual(first);
      expect(await system.registry.runCommand('reminders', '', messageIn(82, '/reminders'))).toMatch(/^[^\n]*: stretch$/);
    } finally {
      await system.close();
    }
  });

  it('survives a restart: a reminder made before is delivered after, by the schedule', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const before = await withReminders({ at: dir, everySecond: true });
      await before.registry.runCommand('remind', '2s after the restart', messageIn(83, '/remind 2s after the restart'));
      await before.close();
      expect(pushes(before)).toEqual([]);

      const after = await withReminders({ at: dir, everySecond: true });
      try {
        await expect.poll(() => pushes(after), { timeout: 8_000 }).toEqual([expect.objectContaining({ conversation_id: 'telegram:83', text: '⏰ Reminder: after the restart' })]);
      } finally {
        await after.close();
      }
    } finally {
      await cleanup();
    }
  });
});
