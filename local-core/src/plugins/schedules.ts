import { Cron } from 'croner';
import type { Logger } from '../logger.js';
import type { Manifest } from './manifest.js';
import type { PluginProcess } from './plugin-process.js';

/**
 * The plugin's schedules as running croner jobs: each run calls its schedule handler with the
 * run's time (whole seconds, so the trigger, and the key of a push without an id, is the same
 * for the same run). A run still going when the next is due is skipped (`protect`).
 *
 * @example
 * const crons = schedulesOf('reminders', manifest, process, log); // later: for (const c of crons) c.stop();
 */
export function schedulesOf(plugin: string, manifest: Manifest, process: PluginProcess, log: Logger): Cron[] {
  return manifest.schedules.map(
    (schedule) =>
      new Cron(schedule.cron, { protect: true }, async (job: Cron) => {
        const at = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
        try {
          await process.call('schedule', schedule.name, { scheduled_at: at }, { conversationId: null, senderId: null, trigger: `schedule:${schedule.name}:${at}` });
        } catch (error) {
          log.warn({ plugin, schedule: schedule.name, next: job.nextRun()?.toISOString(), err: error instanceof Error ? error.message : String(error) }, 'plugin schedule failed');
        }
      }),
  );
}
