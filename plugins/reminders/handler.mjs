// Reminders, kept in the plugin's storage (ctx.data, one row each) so they survive restarts. A
// reminder is delivered as a push by a timer set when it is made, and, should the plugin or the
// core have restarted meanwhile, by the `due` schedule (every minute), which also sets timers
// again. Each push carries the reminder's id, so however often it is tried it reaches the chat once.

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MAX_MS = 365 * UNITS.d;
const USAGE = 'Tell me when and what: /remind 10m call Ada (s, m, h or d), or /remind in 2 hours to stretch';
// A timer takes at most about 24.8 days; later reminders are left to the schedule.
const MAX_TIMER_MS = 2 ** 31 - 1;
const armed = new Set();

/** "10m call Ada", "in 10 minutes to call Ada", "2 h stretch" → { ms, text } */
export function parseReminder(input) {
  const match = /^(?:in\s+)?(\d+(?:\.\d+)?)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\b\s*(?:to\s+)?([\s\S]*)$/i.exec(input.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2][0].toLowerCase()]);
  const text = match[3].trim();
  if (!text || ms <= 0 || ms > MAX_MS) return undefined;
  return { ms, text: text.slice(0, 500) };
}

const KEY = 'reminder:';
const load = async (ctx) => (await ctx.data.list({ prefix: KEY })).map((row) => row.value);
const save = (ctx, reminder) => ctx.data.put(KEY + reminder.id, reminder);

async function add(ctx, ms, text) {
  if (!ctx.conversationId) throw new Error('a reminder needs the chat it was asked from');
  // The same message worked again (a retried generation calling the tool again) is one reminder.
  const same = (await load(ctx)).find((r) => r.trigger && r.trigger === ctx.trigger && r.text === text && r.conversationId === ctx.conversationId);
  if (same) return same;
  const reminder = { id: crypto.randomUUID(), conversationId: ctx.conversationId, text, dueAt: Date.now() + ms, delivered: false, trigger: ctx.trigger };
  await save(ctx, reminder);
  arm(ctx, reminder);
  return reminder;
}

function arm(ctx, reminder) {
  const wait = reminder.dueAt - Date.now();
  if (armed.has(reminder.id) || wait > MAX_TIMER_MS) return;
  armed.add(reminder.id);
  setTimeout(() => deliver(ctx).catch((error) => ctx.log.warn(`reminders not delivered: ${error.message}`)), Math.max(0, wait));
}

/** Pushes every reminder that is due, then marks it delivered. */
async function deliver(ctx) {
  const now = Date.now();
  for (const reminder of await load(ctx)) {
    if (!reminder.delivered && reminder.dueAt <= now) {
      await ctx.push({ conversationId: reminder.conversationId, id: reminder.id, text: `⏰ Reminder: ${reminder.text}` });
      await save(ctx, { ...reminder, delivered: true });
      armed.delete(reminder.id);
    } else if (reminder.delivered && reminder.dueAt <= now - UNITS.d) {
      // Delivered ones are kept a day (a retried push stays idempotent), then forgotten.
      await ctx.data.delete(KEY + reminder.id);
    }
  }
}

const when = (dueAt) => `${new Date(dueAt).toISOString().replace('T', ' ').slice(0, 16)} UTC`;

export default {
  commands: {
    remind: async (args, ctx) => {
      const parsed = parseReminder(args);
      if (!parsed) return USAGE;
      const reminder = await add(ctx, parsed.ms, parsed.text);
      return `OK, I will remind you at ${when(reminder.dueAt)}: ${reminder.text}`;
    },
    reminders: async (_args, ctx) => {
      const mine = (await load(ctx)).filter((r) => !r.delivered && r.conversationId === ctx.conversationId).sort((a, b) => a.dueAt - b.dueAt);
      return mine.length ? mine.map((r) => `${when(r.dueAt)}: ${r.text}`).join('\n') : 'No reminders to come.';
    },
  },
  tools: {
    set_reminder: async ({ in_minutes, text }, ctx) => {
      const reminder = await add(ctx, Math.round(in_minutes * UNITS.m), text);
      return { ok: true, due_at: new Date(reminder.dueAt).toISOString(), text: reminder.text };
    },
  },
  schedules: {
    due: async (_args, ctx) => {
      await deliver(ctx);
      // Timers again for what comes within the next two minutes (after a restart there are none).
      for (const reminder of (await load(ctx)).filter((r) => !r.delivered && r.dueAt - Date.now() < 2 * UNITS.m)) arm(ctx, reminder);
    },
  },
};
