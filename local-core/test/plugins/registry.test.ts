import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { manifest, messageIn, openRegistry, writePlugin } from './support.js';

let system: Awaited<ReturnType<typeof openRegistry>> | undefined;
afterEach(async () => {
  await system?.close();
  system = undefined;
});

const answering = (text: string, delayMs = 0) =>
  `export default { commands: { hi: async () => { await new Promise((r) => setTimeout(r, ${delayMs})); return ${JSON.stringify(text)}; } } };`;
const HI = manifest('greeter', { commands: [{ name: 'hi', description: 'says hi' }] });

describe('loading and hot reload', () => {
  it('picks up a plugin added, changed and removed while running (the folder is watched)', async () => {
    system = await openRegistry([]);
    const { registry, root } = system;
    expect(registry.hasCommand('hi')).toBe(false);
    await writePlugin(root, 'greeter', HI, answering('hi v1'));
    await expect.poll(() => registry.hasCommand('hi'), { timeout: 5_000 }).toBe(true);
    expect(await registry.runCommand('hi', '', messageIn(40, '/hi'))).toBe('hi v1');

    await writeFile(join(root, 'greeter', 'handler.mjs'), answering('hi v2'));
    await expect.poll(() => registry.runCommand('hi', '', messageIn(40, '/hi')), { timeout: 5_000 }).toBe('hi v2');

    await rm(join(root, 'greeter'), { recursive: true });
    await expect.poll(() => registry.hasCommand('hi'), { timeout: 5_000 }).toBe(false);
    expect(registry.list()).toEqual([]);
  });

  it('lets a call running on the old child finish there while new calls go to the new one', async () => {
    system = await openRegistry([{ name: 'greeter', manifest: HI, handler: answering('old', 1_500) }]);
    const { registry, root } = system;
    const running = registry.runCommand('hi', '', messageIn(41, '/hi'));
    // The call is on the old child from now; its pid is known once it runs.
    await expect.poll(() => registry.processOf('greeter')?.pid).toBeDefined();
    const oldPid = registry.processOf('greeter')?.pid;
    await writeFile(join(root, 'greeter', 'handler.mjs'), answering('new'));
    await registry.reload();
    expect(await registry.runCommand('hi', '', messageIn(41, '/hi'))).toBe('new');
    expect(registry.processOf('greeter')?.pid).not.toBe(oldPid);
    expect(await running).toBe('old');
  });

  it('lets a call still waiting for its child to start finish on the retired process, not fail', async () => {
    system = await openRegistry([{ name: 'greeter', manifest: HI, handler: answering('old') }]);
    const { registry, root } = system;
    // No child yet: this call is waiting for it to start when the plugin is reloaded. (Which
    // version it runs depends on whether the child read the file before it changed.)
    const running = registry.runCommand('hi', '', messageIn(41, '/hi'));
    await writeFile(join(root, 'greeter', 'handler.mjs'), answering('new'));
    await registry.reload();
    expect(['old', 'new']).toContain(await running);
    expect(await registry.runCommand('hi', '', messageIn(41, '/hi'))).toBe('new');
  });

  it('reports a bad manifest with the field and the fix, and loads the others', async () => {
    system = await openRegistry([
      { name: 'greeter', manifest: HI, handler: answering('fine') },
      {
        name: 'broken',
        manifest: manifest('broken', { version: 'one', tools: [{ name: 'x', description: 'x', parameters: { type: 'object', properties: { a: { type: 'strng' } } } }] }),
        handler: 'export default {};',
      },
      { name: 'misnamed', manifest: manifest('other-name'), handler: 'export default {};' },
    ]);
    const problems = Object.fromEntries(system.registry.list().map((info) => [info.name, info.problems]));
    expect(problems.broken).toEqual([
      'version: version must be semver, e.g. "1.0.0"',
      expect.stringMatching(/^tools\[0\]\.parameters: parameters is not a valid JSON Schema: .*type/),
    ]);
    expect(problems.misnamed).toEqual(['name: "other-name" must equal the folder name "misnamed" (rename one of them)']);
    expect(await system.registry.runCommand('hi', '', messageIn(42, '/hi'))).toBe('fine');
    expect(system.logs().find((line) => line.msg === 'plugin not loaded' && line.plugin === 'broken')).toMatchObject({ problems: problems.broken });
  });

  it('follows hearth plugins enable|disable (the state in SQLite), without a restart', async () => {
    system = await openRegistry([{ name: 'greeter', manifest: HI, handler: answering('on') }], { pollMs: 100 });
    const { registry, state } = system;
    state.setEnabled('greeter', false);
    await expect.poll(() => registry.hasCommand('hi'), { timeout: 3_000 }).toBe(false);
    expect(registry.list()[0]).toMatchObject({ name: 'greeter', enabled: false });
    state.setEnabled('greeter', true);
    await expect.poll(() => registry.hasCommand('hi'), { timeout: 3_000 }).toBe(true);
    expect(await registry.runCommand('hi', '', messageIn(43, '/hi'))).toBe('on');
  });
});

const PUSHER = `
export default {
  commands: {
    later: async (args, ctx) => { await ctx.push({ text: 'pushed: ' + args }); return 'ok'; },
    elsewhere: async (_args, ctx) => { await ctx.push({ text: 'sneaky', conversationId: 'telegram:999' }); return 'ok'; },
    subscribe: async (_args, ctx) => { await ctx.data.put('who', ctx.conversationId); return 'subscribed'; },
    timer: async (args, ctx) => { setTimeout(() => ctx.push({ text: 'from a timer', id: 'timer-' + args }), 50); return 'armed'; },
    noid: async (_args, ctx) => { setTimeout(() => ctx.push({ text: 'no id' }).catch((e) => ctx.log.warn(e.message)), 50); return 'armed'; },
  },
  schedules: {
    tick: async ({ scheduled_at }, ctx) => {
      const who = await ctx.data.get('who');
      if (!who) return;
      await ctx.push({ conversationId: who, text: 'tick', id: 'tick-' + scheduled_at });
    },
  },
};
`;
const PUSHER_MANIFEST = manifest('pusher', {
  commands: ['later', 'elsewhere', 'subscribe', 'timer', 'noid'].map((name) => ({ name, description: name })),
  schedules: [{ name: 'tick', cron: '* * * * * *' }],
  permissions: { data: true },
});

describe('proactive pushes', () => {
  const replies = () => (system?.sent ?? []).filter((frame) => frame.type === 'reply');

  it('sends a push as a reply frame under a key that is the same when the same message asks again', async () => {
    system = await openRegistry([{ name: 'pusher', manifest: PUSHER_MANIFEST, handler: PUSHER }]);
    const asked = messageIn(50, '/later soon');
    await system.registry.runCommand('later', 'soon', asked);
    await system.registry.runCommand('later', 'soon', asked);
    expect(replies()).toHaveLength(2);
    expect(replies()[0]).toEqual({ type: 'reply', key: expect.stringMatching(/^push:pusher:[0-9a-f]{32}$/), conversation_id: 'telegram:50', in_reply_to: null, text: 'pushed: soon' });
    expect(replies()[1]).toEqual(replies()[0]);
    // Another message asking the same is another push.
    await system.registry.runCommand('later', 'soon', messageIn(50, '/later soon'));
    const keys = replies().map((frame) => (frame.type === 'reply' ? frame.key : ''));
    expect(keys[2]).not.toBe(keys[0]);
  });

  it('refuses a push to a conversation that never used the plugin, and logs it', async () => {
    system = await openRegistry([{ name: 'pusher', manifest: PUSHER_MANIFEST, handler: PUSHER }]);
    const error = await system.registry.runCommand('elsewhere', '', messageIn(51, '/elsewhere')).catch((e: unknown) => e);
    expect(String(error)).toContain('push refused: telegram:999 has never used pusher');
    expect(replies()).toEqual([]);
    expect(system.logs().find((line) => line.msg === 'plugin push refused: that conversation has never used the plugin')).toMatchObject({ plugin: 'pusher', conversationId: 'telegram:999' });
  });

  it('takes a push from a timer outside any call only with an id, which is its key', async () => {
    system = await openRegistry([{ name: 'pusher', manifest: PUSHER_MANIFEST, handler: PUSHER }]);
    await system.registry.runCommand('timer', 'a1', messageIn(52, '/timer a1'));
    await expect.poll(() => replies()).toEqual([expect.objectContaining({ key: 'push:pusher:timer-a1', text: 'from a timer', conversation_id: 'telegram:52' })]);
    await system.registry.runCommand('noid', '', messageIn(52, '/noid'));
    await expect.poll(() => system?.logs().some((line) => String(line.msg).includes('push outside a call needs an id'))).toBe(true);
    expect(replies()).toHaveLength(1);
  });

  it('keeps pushes in the SQLite outbox while the tunnel is down and sends them on flush', async () => {
    let up = false;
    system = await openRegistry([{ name: 'pusher', manifest: PUSHER_MANIFEST, handler: PUSHER }], { tunnelUp: () => up });
    await system.registry.runCommand('later', 'one', messageIn(53, '/later one'));
    await system.registry.runCommand('later', 'two', messageIn(53, '/later two'));
    expect(replies()).toEqual([]);
    expect(system.outbox.waiting().map((push) => push.text)).toEqual(['pushed: one', 'pushed: two']);
    up = true;
    expect(system.outbox.flush()).toBe(2);
    expect(replies().map((frame) => frame.type === 'reply' && frame.text)).toEqual(['pushed: one', 'pushed: two']);
    // Handed to the tunnel is not stored at the Relay: kept until it says so (reply_stored).
    const [one, two] = system.outbox.waiting();
    expect([one?.text, two?.text]).toEqual(['pushed: one', 'pushed: two']);
    system.outbox.confirm(one!.key);
    // The tunnel dropped before the second was confirmed: the next connection sends it again.
    expect(system.outbox.flush()).toBe(1);
    expect(replies().map((frame) => frame.type === 'reply' && frame.text)).toEqual(['pushed: one', 'pushed: two', 'pushed: two']);
    system.outbox.confirm(two!.key);
    expect(system.outbox.waiting()).toEqual([]);
  });

  it('runs schedules (croner), whose handler may push', async () => {
    system = await openRegistry([{ name: 'pusher', manifest: PUSHER_MANIFEST, handler: PUSHER }]);
    await system.registry.runCommand('subscribe', '', messageIn(54, '/subscribe'));
    await expect.poll(() => replies().length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    const keys = replies().map((frame) => (frame.type === 'reply' ? frame.key : ''));
    expect(keys.every((key) => /^push:pusher:tick-\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/.test(key))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
    expect(replies()[0]).toMatchObject({ conversation_id: 'telegram:54', text: 'tick' });
  });
});
