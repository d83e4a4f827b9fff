import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateCoreKeySet, type Message } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { EchoEngine, type ReplyOptions } from '../../src/inference/engine.js';
import { loadMemoryConfig } from '../../src/memory/config.js';
import { LongTermMemory } from '../../src/memory/long-term.js';
import type { Memory } from '../../src/memory/memory.js';
import { MEMORY_PREFIX } from '../../src/memory/memory-recall.js';
import { openMemory } from '../../src/memory/open-memory.js';
import { Pipeline } from '../../src/pipeline.js';
import { silentLogger, tempDir } from '../support.js';

let n = 0;
const say = (sender: string, text: string, conversation = sender, type: Message['conversation']['type'] = 'private'): Message => ({
  message_id: `${conversation}:${++n}`,
  platform: 'telegram',
  conversation: { id: conversation, type },
  sender: { id: sender },
  content: { text, attachments: [], entities: [] },
  reply_to: null,
  timestamp: 1,
});

let dir: string;
let cleanup: () => Promise<void>;
let memory: Memory;
let longTerm: LongTermMemory;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  memory = await openMemory({ ...loadMemoryConfig({}), databasePath: join(dir, 'core.db') }, silentLogger());
  longTerm = LongTermMemory.open({ config: { filePath: join(dir, 'MEMORY.md'), budgetTokens: 200 }, dbPath: join(dir, 'core.db'), watch: false });
});
afterEach(async () => {
  longTerm.dispose();
  await memory.dispose();
  await cleanup();
});

async function setup() {
  const engine = new EchoEngine();
  const reply = vi.spyOn(engine, 'reply');
  const pipeline = new Pipeline({ keySet: await generateCoreKeySet(), engine, memory, longTerm, log: silentLogger(), send: () => true });
  /** What the engine was given for the last turn. */
  const given = (): ReplyOptions => reply.mock.lastCall?.[1] ?? {};
  return { pipeline, given };
}

describe('memory items in the pipeline', () => {
  it('/remember keeps a fact of the sender, which reaches their next conversation and never another sender', async () => {
    const { pipeline, given } = await setup();
    expect(await pipeline.replyTo(say('telegram:42', '/remember I am vegetarian'))).toMatch(/^Remembered \(#\d+\): I am vegetarian$/);
    expect(readFileSync(join(dir, 'MEMORY.md'), 'utf8')).toContain('## telegram:42\n- I am vegetarian\n');
    await pipeline.replyTo(say('telegram:42', 'what should I cook tonight?', 'telegram:42-other-chat'));
    expect(given().context).toEqual([`${MEMORY_PREFIX}I am vegetarian`]);
    await pipeline.replyTo(say('telegram:77', 'what should I cook tonight?'));
    expect(given().context).toEqual([]);
    // The owner's fact is not read out in a group, where others read the reply.
    await pipeline.replyTo(say('telegram:42', 'what should I cook?', 'telegram:-100', 'group'));
    expect(given().context).toEqual([]);
  });

  it('offers remember and forget in every turn, bound to the sender and the source turn', async () => {
    const { pipeline, given } = await setup();
    const message = say('telegram:77', 'my sister is Ada');
    await pipeline.replyTo(message);
    const tools = given().tools ?? [];
    expect(tools.map((tool) => tool.name)).toEqual(['remember', 'forget']);
    expect(await tools[0]?.call({ fact: 'Sister: Ada' })).toEqual({ id: expect.any(Number), remembered: 'Sister: Ada' });
    expect(await tools[0]?.call({ fact: '' })).toEqual({ error: expect.stringContaining('fact') });
    expect(await tools[0]?.call({ fact: 'x', scope: 'telegram:42' })).toEqual({ error: expect.stringContaining('scope') });
    expect(longTerm.items.list('telegram:77')).toEqual([expect.objectContaining({ text: 'Sister: Ada', source: 'tool', messageId: message.message_id })]);
    expect(longTerm.items.list('telegram:42')).toEqual([]);
    expect(await tools[1]?.call({ what: 'Sister: Ada' })).toEqual({ forgotten: ['Sister: Ada'] });
    expect(await tools[1]?.call({ what: 'Sister: Ada' })).toEqual({ error: expect.stringContaining('no such fact') });
  });

  it("/forget drops the sender's own fact only; /remember alone lists theirs; /help names both", async () => {
    const { pipeline } = await setup();
    await pipeline.replyTo(say('telegram:42', '/remember I am vegetarian'));
    const [owners] = longTerm.items.list('telegram:42');
    expect(await pipeline.replyTo(say('telegram:77', `/forget ${owners?.id}`))).toBe('I remember nothing like that about you (/remember lists what I do).');
    expect(await pipeline.replyTo(say('telegram:77', '/remember'))).toBe('I remember nothing about you yet. Tell me with /remember FACT.');
    expect(await pipeline.replyTo(say('telegram:42', '/remember'))).toBe(`What I remember about you:\n#${owners?.id} I am vegetarian\nForget one with /forget ID.`);
    expect(await pipeline.replyTo(say('telegram:42', '/forget vegetarian'))).toBe('Forgotten: I am vegetarian');
    expect(longTerm.items.list()).toEqual([]);
    expect(await pipeline.replyTo(say('telegram:42', '/help'))).toContain('/remember FACT');
  });

  it("recalls what the owner writes into MEMORY.md while the core runs, and drops what they delete", async () => {
    longTerm.dispose();
    longTerm = LongTermMemory.open({ config: { filePath: join(dir, 'MEMORY.md'), budgetTokens: 200 }, dbPath: join(dir, 'core.db') });
    const { pipeline, given } = await setup();
    await pipeline.replyTo(say('telegram:42', '/remember I live in Oslo'));
    writeFileSync(join(dir, 'MEMORY.md'), '## telegram:42\n- I am vegetarian\n\n## api:ada\n- Ada likes tea\n');
    await expect.poll(() => longTerm.items.list().length).toBe(2);
    await pipeline.replyTo(say('telegram:42', 'what should I cook tonight?'));
    expect(given().context).toEqual([`${MEMORY_PREFIX}I am vegetarian`]);
    await pipeline.replyTo(say('api:ada', 'tea or coffee?'));
    expect(given().context).toEqual([`${MEMORY_PREFIX}Ada likes tea`]);
  });

  it('says memory is off when the core keeps none', async () => {
    const pipeline = new Pipeline({ keySet: await generateCoreKeySet(), engine: new EchoEngine(), memory, log: silentLogger(), send: () => true });
    expect(await pipeline.replyTo(say('telegram:42', '/remember I am vegetarian'))).toBe('I keep no memories on this core (HEARTH_MEMORY_ITEMS=off).');
  });
});
