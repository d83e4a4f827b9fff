import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { replyKeyFor } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assignVariant, bucketOf } from '../../src/learning/assignment.js';
import { type ExperimentsConfig, loadExperiments } from '../../src/learning/variants.js';
import { tempDir } from '../support.js';
import { Tagged, chat, delivery, learningCore } from './support.js';

const TINY = resolve(import.meta.dirname, '../../../../shared/models/llama-2-tiny-random.gguf');

let dir: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.cleanup());

const writeConfig = (body: unknown) => {
  const path = join(dir.dir, 'experiments.json');
  writeFileSync(path, JSON.stringify(body));
  return path;
};

const twoVariants = (file = 'x'): ExperimentsConfig => ({
  file,
  variants: [
    { name: 'a', model: undefined, lora: undefined, systemPrompt: 'You are A.', temperature: 0.7, topP: undefined, maxTokens: 32 },
    { name: 'b', model: TINY, lora: undefined, systemPrompt: undefined, temperature: undefined, topP: 0.9, maxTokens: undefined },
  ],
  experiment: { name: 'exp-1', weights: [{ variant: 'a', weight: 30 }, { variant: 'b', weight: 70 }] },
});

describe('experiments config (HEARTH_EXPERIMENTS)', () => {
  it('reads variants and weights, model paths relative to the file', () => {
    const path = writeConfig({
      variants: [{ name: 'a' }, { name: 'b', model: TINY, system_prompt: 'Be brief.', temperature: 0.2, top_p: 0.5, max_tokens: 16 }],
      experiment: { name: 'exp-1', variants: { a: 1, b: 3 } },
    });
    const config = loadExperiments(path);
    expect(config.variants[1]).toEqual({ name: 'b', model: TINY, lora: undefined, systemPrompt: 'Be brief.', temperature: 0.2, topP: 0.5, maxTokens: 16 });
    expect(config.experiment).toEqual({ name: 'exp-1', weights: [{ variant: 'a', weight: 1 }, { variant: 'b', weight: 3 }] });
  });

  it('names the field of every mistake, and the variant and path of a missing model or adapter', () => {
    const bad = writeConfig({ variants: [{ name: 'a', temperature: 9 }, { name: 'a' }], experiment: { variants: { a: 1, c: 1 } } });
    expect(() => loadExperiments(bad)).toThrow(/variants\[0\]\.temperature: .*\n.*variants\[1\]\.name: variant "a" is listed twice\n.*experiment\.variants\.c: no variant named "c"/);
    const missing = writeConfig({ variants: [{ name: 'big', model: 'models/nope.gguf', lora: { path: 'adapters/none.gguf' } }], experiment: { variants: { big: 1 } } });
    expect(() => loadExperiments(missing)).toThrow(`variant "big": model file ${join(dir.dir, 'models/nope.gguf')} does not exist`);
    expect(() => loadExperiments(missing)).toThrow(`variant "big": LoRA adapter ${join(dir.dir, 'adapters/none.gguf')} does not exist`);
    expect(() => loadExperiments(join(dir.dir, 'absent.json'))).toThrow(/HEARTH_EXPERIMENTS=.*absent\.json: cannot read it as JSON/);
  });
});

describe('deterministic assignment', () => {
  const users = Array.from({ length: 2_000 }, (_, i) => `telegram:${1_000 + i}`);

  it('splits users by the weights', () => {
    const counts = { a: 0, b: 0 };
    for (const user of users) counts[assignVariant(twoVariants(), user) as 'a' | 'b']++;
    expect(counts.a / users.length).toBeGreaterThan(0.26);
    expect(counts.a / users.length).toBeLessThan(0.34);
  });

  it('gives each user the same variant in another process (a restart), and a new experiment name reshuffles', () => {
    const here = users.map((user) => assignVariant(twoVariants(), user));
    // A fresh Node process computes the same split from the built module: no state, only the hash.
    const script = `import { assignVariant } from ${JSON.stringify(resolve(import.meta.dirname, '../../dist/learning/assignment.js'))};
      const config = { experiment: { name: 'exp-1', weights: [{ variant: 'a', weight: 30 }, { variant: 'b', weight: 70 }] } };
      process.stdout.write(JSON.stringify(${JSON.stringify(users)}.map((u) => assignVariant(config, u))));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    expect(JSON.parse(child.stdout)).toEqual(here);
    // Pinned: a change to the hashing would silently move every user to another variant.
    expect(bucketOf('exp-1', 'telegram:42')).toBeCloseTo(0.632331681032273, 15);
    expect(here.slice(0, 8).join('')).toBe('bbbabbbb');
    const renamed = { ...twoVariants(), experiment: { ...twoVariants().experiment, name: 'exp-2' } };
    expect(users.map((user) => assignVariant(renamed, user))).not.toEqual(here);
  });

  it('answers each user with their variant’s engine and settings, records the variant per reply, and keeps it after a restart', async () => {
    const engines = { a: new Tagged('A'), b: new Tagged('B') };
    const load = async (variant: { name: string }) => engines[variant.name as 'a' | 'b'];
    let core = await learningCore(dir.dir, { experiments: twoVariants(), load });
    const people = ['telegram:1', 'telegram:2', 'telegram:3', 'telegram:4', 'telegram:5', 'telegram:6'];
    const expected = Object.fromEntries(people.map((p) => [p, assignVariant(twoVariants(), p)]));
    expect(new Set(Object.values(expected))).toEqual(new Set(['a', 'b']));
    for (const [n, person] of people.entries()) await core.pipeline.handle(await delivery(chat('telegram', person, `${person}:${n}`, 'hi')));
    for (const [n, person] of people.entries()) {
      const variant = expected[person];
      expect(core.ackOf(`${person}:${n}`)?.reply?.text).toBe(`[${variant?.toUpperCase()}] hi`);
      expect(core.store.reply(replyKeyFor(`${person}:${n}`))).toMatchObject({ variant, model: 'echo', senderId: person, tokens: 1 });
    }
    expect(engines.a.seen[0]).toMatchObject({ systemPrompt: 'You are A.', temperature: 0.7, maxTokens: 32 });
    expect(engines.b.seen[0]).toMatchObject({ topP: 0.9 });
    expect(engines.b.seen[0]?.systemPrompt).toBeUndefined();
    await core.close();

    core = await learningCore(dir.dir, { experiments: twoVariants(), load: async (v) => new Tagged(v.name.toUpperCase()) });
    for (const [n, person] of people.entries()) await core.pipeline.handle(await delivery(chat('telegram', person, `${person}:again:${n}`, 'hi')));
    for (const [n, person] of people.entries()) expect(core.store.reply(replyKeyFor(`${person}:again:${n}`))?.variant).toBe(expected[person]);
    await core.close();
  });
});
