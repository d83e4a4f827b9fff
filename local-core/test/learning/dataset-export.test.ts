import { replyKeyFor } from '@hearth/shared';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exportDataset, type DatasetLine, type KtoLine } from '../../src/learning/dataset-export.js';
import { tempDir } from '../support.js';
import { chat, delivery, learningCore, press, type LearningCore } from './support.js';

let dir: { dir: string; cleanup: () => Promise<void> };
let core: LearningCore;
beforeEach(async () => {
  dir = await tempDir();
  core = await learningCore(dir.dir);
});
afterEach(async () => {
  await core.close();
  await dir.cleanup();
});

/** What must never appear in an export: contact details, card, IBAN, SSN, key, and every platform id. */
const PII = {
  email: 'ada.lovelace@example.org',
  phone: '+44 20 7946 0958',
  card: '4111 1111 1111 1111',
  iban: 'GB82 WEST 1234 5698 7654 32',
  ssn: '123-45-6789',
  key: 'sk-live-abcdefghijklmnopqrstuvwx1234',
};

async function converse(c: LearningCore) {
  const ada = (n: number, text: string) => chat('telegram', 'telegram:424242', `telegram:424242:${n}`, text, 'telegram:424242');
  const bob = (n: number, text: string) => chat('whatsapp', 'whatsapp:15551234567', `whatsapp:wamid.BOB${n}`, text, 'whatsapp:15551234567');
  const turns = [
    ada(1, `mail me at ${PII.email} or call ${PII.phone}`),
    ada(2, `my card is ${PII.card}, IBAN ${PII.iban}; I am telegram:424242`),
    ada(3, 'a third, unrated'),
    bob(1, `ssn ${PII.ssn} and key ${PII.key}`),
  ];
  for (const m of turns) await c.pipeline.handle(await delivery(m));
  const rate = async (m: (typeof turns)[number], n: number, which: 0 | 1) => {
    const data = c.ackOf(m.message_id)?.reply?.buttons?.[0]?.[which]?.data ?? '';
    await c.pipeline.handle(await delivery(press(m, `${m.conversation.id}:cb:${n}`, data)));
  };
  await rate(turns[0] as (typeof turns)[number], 1, 0);
  await rate(turns[1] as (typeof turns)[number], 2, 1);
  await rate(turns[3] as (typeof turns)[number], 3, 0);
  return turns;
}

const dump = (c: LearningCore, options = {}) => [...exportDataset(c.store, options)];

describe('hearth dataset export', () => {
  it('writes rated replies with labels, in the chat format, with the turns before them', async () => {
    const turns = await converse(core);
    const lines = dump(core) as DatasetLine[];
    expect(lines.map((l) => l.label)).toEqual([true, false, true]);
    const second = lines[1];
    expect(second?.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(second?.variant).toBe('default');
    expect(core.memory.feedbackFor(replyKeyFor(turns[1]?.message_id ?? ''))).toHaveLength(1);
    // Unrated replies only when asked for.
    expect((dump(core, { includeUnrated: true }) as DatasetLine[]).map((l) => l.label)).toEqual([true, false, null, true]);
    const kto = dump(core, { shape: 'kto' }) as KtoLine[];
    expect(kto[0]?.completion).toEqual([lines[0]?.messages.at(-1)]);
    expect(kto[0]?.prompt).toEqual(lines[0]?.messages.slice(0, -1));
  });

  it('contains no raw PII and no platform id; users are stable pseudonyms across exports and restarts', async () => {
    const turns = await converse(core);
    const text = dump(core, { includeUnrated: true }).map((l) => JSON.stringify(l)).join('\n');
    for (const [kind, value] of Object.entries(PII)) expect(text, kind).not.toContain(value);
    for (const id of ['424242', '15551234567', 'telegram', 'whatsapp', 'wamid', ...turns.map((t) => t.message_id)]) expect(text).not.toContain(id);
    expect(text).toContain('[REDACTED:email]');

    const users = (lines: unknown[]) => (lines as DatasetLine[]).map((l) => l.user);
    const first = users(dump(core));
    expect(first[0]).toMatch(/^u_[0-9a-f]{16}$/);
    expect(first[0]).toBe(first[1]);
    expect(first[2]).not.toBe(first[0]);
    await core.close();
    core = await learningCore(dir.dir);
    expect(users(dump(core))).toEqual(first);
  });

  it('exports by time and leaves out replies whose turns were reset', async () => {
    await converse(core);
    expect(dump(core, { since: Date.now() + 60_000 })).toEqual([]);
    await core.memory.reset('telegram:424242');
    expect((dump(core) as DatasetLine[]).map((l) => l.label)).toEqual([true]);
  });
});
