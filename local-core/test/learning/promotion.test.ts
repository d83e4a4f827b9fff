import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { replyKeyFor } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LearningStore } from '../../src/learning/store.js';
import type { ExperimentsConfig, Variant } from '../../src/learning/variants.js';
import { openDatabase } from '../../src/memory/database.js';
import { tempDir } from '../support.js';
import { Tagged, chat, delivery, learningCore, type LearningCore } from './support.js';

const variant = (name: string, model: string): Variant => ({ name, model, lora: undefined, systemPrompt: undefined, temperature: undefined, topP: undefined, maxTokens: undefined });
const AB: ExperimentsConfig = {
  file: 'x',
  variants: [variant('a', '/models/a.gguf'), variant('b', '/models/b.gguf')],
  experiment: { name: 'e', weights: [{ variant: 'a', weight: 1 }] },
};

let dir: { dir: string; cleanup: () => Promise<void> };
let core: LearningCore;
const events: string[] = [];
const loaded: Record<string, number> = {};
/** Echo engines that take 150 ms a reply (loading takes `loadMs`), logging loads and disposals. */
const loader = (loadMs = 0) => async (v: Variant, sequences: number | undefined) => {
  await sleep(loadMs);
  loaded[v.name] = (loaded[v.name] ?? 0) + 1;
  events.push(`load ${v.name}`);
  const engine = new Tagged(v.name.toUpperCase(), 150);
  const dispose = engine.dispose.bind(engine);
  engine.dispose = async () => {
    events.push(`dispose ${v.name}`);
    await dispose();
  };
  expect(sequences === undefined || sequences === 4).toBe(true);
  return engine;
};

beforeEach(async () => {
  dir = await tempDir();
  events.length = 0;
  for (const key of Object.keys(loaded)) delete loaded[key];
});
afterEach(async () => {
  await core.close();
  await dir.cleanup();
});

/** `hearth experiments promote` as the CLI does it: its own connection to the core's file. */
function promoteFromCli(name: string | null) {
  const db = openDatabase(join(dir.dir, 'core.db'));
  try {
    new LearningStore(db).promote(name);
  } finally {
    db.close();
  }
}

const send = async (c: LearningCore, from: number, n: number, tag: string) => {
  const messages = Array.from({ length: n }, (_, i) => chat('telegram', `telegram:${from + i}`, `telegram:${from + i}:${tag}`, `question ${from + i}`));
  const handled = Promise.all(messages.map(async (m) => c.pipeline.handle(await delivery(m))));
  return { messages, handled };
};

describe('promotion without a restart', () => {
  it('swaps engines under load: replies in flight finish on the old variant, new ones go to the promoted one, nothing lost or doubled', async () => {
    core = await learningCore(dir.dir, { experiments: AB, load: loader(200), pollMs: 50 });
    const before = await send(core, 0, 20, 'before');
    await expect.poll(() => core.pipeline.inFlight).toBeGreaterThan(0);
    promoteFromCli('b');
    // While B loads (200 ms) messages keep coming, and A answers them without waiting.
    const during = await send(core, 100, 10, 'during');
    await expect.poll(() => core.engine.promotion.variant, { timeout: 5_000 }).toBe('b');
    const after = await send(core, 200, 20, 'after');
    await Promise.all([before.handled, during.handled, after.handled]);

    const all = [...before.messages, ...during.messages, ...after.messages];
    for (const m of all) expect(core.acks().filter((a) => a.message_id === m.message_id)).toHaveLength(1);
    expect(core.acks()).toHaveLength(50);
    for (const m of [...before.messages, ...during.messages]) {
      expect(core.ackOf(m.message_id)?.reply?.text).toBe(`[A] ${m.content.text}`);
      expect(core.store.reply(replyKeyFor(m.message_id))?.variant).toBe('a');
    }
    for (const m of after.messages) {
      expect(core.ackOf(m.message_id)?.reply?.text).toBe(`[B] ${m.content.text}`);
      expect(core.store.reply(replyKeyFor(m.message_id))?.variant).toBe('b');
    }
    // A went only once nothing ran on it any more.
    await expect.poll(() => events).toContain('dispose a');
    expect(events.slice(0, 2)).toEqual(['load a', 'load b']);
    expect(core.engine.describe()).toContain('variant b');
  });

  it('survives a restart (the promotion is on disk), and --clear goes back to the split, reloading what it needs', async () => {
    core = await learningCore(dir.dir, { experiments: AB, load: loader(), pollMs: 50 });
    promoteFromCli('b');
    await expect.poll(() => core.engine.promotion.variant).toBe('b');
    await core.close();

    core = await learningCore(dir.dir, { experiments: AB, load: loader(), pollMs: 50 });
    expect(core.engine.promotion.variant).toBe('b');
    expect(events.at(-1)).toBe('load b');
    const one = await send(core, 0, 1, 'x');
    await one.handled;
    expect(core.ackOf('telegram:0:x')?.reply?.text).toBe('[B] question 0');

    promoteFromCli(null);
    await expect.poll(() => core.engine.promotion).toMatchObject({ variant: null });
    const two = await send(core, 0, 1, 'y');
    await two.handled;
    expect(core.ackOf('telegram:0:y')?.reply?.text).toBe('[A] question 0');
    expect(core.store.reply(replyKeyFor('telegram:0:y'))?.variant).toBe('a');
  });

  it('ignores a promotion of a variant the file does not have, and keeps answering', async () => {
    core = await learningCore(dir.dir, { experiments: AB, load: loader(), pollMs: 50 });
    promoteFromCli('zzz');
    await core.engine.checkPromotion();
    expect(core.engine.promotion.variant).toBeNull();
    const one = await send(core, 0, 1, 'x');
    await one.handled;
    expect(core.ackOf('telegram:0:x')?.reply?.text).toBe('[A] question 0');
  });

  it('starts a conversation that changes variant again from its history, not from a stale context', async () => {
    const engines = { a: new Tagged('A'), b: new Tagged('B') };
    const resets: string[] = [];
    for (const [name, engine] of Object.entries(engines)) {
      Object.assign(engine, { reset: async (id: string) => void resets.push(`${name} ${id}`) });
    }
    const both: ExperimentsConfig = { ...AB, experiment: { name: 'e', weights: [{ variant: 'a', weight: 1 }, { variant: 'b', weight: 1 }] } };
    core = await learningCore(dir.dir, { experiments: both, load: async (v) => engines[v.name as 'a' | 'b'], pollMs: 50 });
    const first = core.engine.variantFor('telegram:7').name;
    const other = first === 'a' ? 'b' : 'a';
    await core.pipeline.handle(await delivery(chat('telegram', 'telegram:7', 'telegram:7:1', 'one')));
    expect(resets).toEqual([]);
    promoteFromCli(other);
    await expect.poll(() => core.engine.promotion.variant).toBe(other);
    await core.pipeline.handle(await delivery(chat('telegram', 'telegram:7', 'telegram:7:2', 'two')));
    // The old variant's engine is unloaded by now (idle, unused); the new one drops what it had.
    expect(resets).toContain(`${other} telegram:7`);
    expect(core.store.reply(replyKeyFor('telegram:7:2'))?.variant).toBe(other);
  });
});
