import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/memory/database.js';
import { type MemoryItem, MemoryItemStore } from '../../src/memory/memory-items.js';
import { ItemVectors, MEMORY_PREFIX, lexicalScore, selectItems } from '../../src/memory/memory-recall.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';

const item = (id: number, text: string, createdAt = id): MemoryItem => ({ id, scope: 'telegram:42', text, source: 'tool', messageId: null, createdAt });
const facts = [item(1, 'I am vegetarian'), item(2, 'My sister is called Ada and lives in Lyon'), item(3, 'I work as a nurse at night'), item(4, 'My dentist is Dr Moreau')];
const words = (text: string) => text.split(/\s+/).filter(Boolean).length;

let embedder: HashingEmbedder;
beforeAll(async () => {
  embedder = await HashingEmbedder.create({ threads: 1 });
});
afterAll(() => embedder?.dispose());

describe('selectItems', () => {
  it('takes every fact when the budget holds them, most relevant first', async () => {
    const { lines, tokens } = await selectItems(facts, 'when does my sister Ada visit?', { budgetTokens: 1_000, countTokens: words });
    expect(lines[0]).toBe(`${MEMORY_PREFIX}My sister is called Ada and lives in Lyon`);
    expect(lines).toHaveLength(4);
    expect(tokens).toBe(lines.reduce((sum, line) => sum + words(line), 0));
  });

  it('keeps within the token budget, dropping the least relevant (a smaller one may still fit after a big one)', async () => {
    const budget = words(`${MEMORY_PREFIX}My dentist is Dr Moreau`) + words(`${MEMORY_PREFIX}I am vegetarian`);
    const { items, tokens } = await selectItems(facts, 'book the dentist', { budgetTokens: budget, countTokens: words });
    expect(items.map((i) => i.id)).toEqual([4, 1]);
    expect(tokens).toBeLessThanOrEqual(budget);
    expect(await selectItems(facts, 'anything', { budgetTokens: 0 })).toEqual({ lines: [], items: [], tokens: 0 });
  });

  it('ranks by meaning with the recall embedder, embedding each fact once', async () => {
    const vectors = new ItemVectors(embedder);
    const first = await selectItems(facts, 'a night shift at the hospital as nurse', { budgetTokens: 1_000, vectors });
    expect(first.items[0]?.id).toBe(3);
    const embed = vi.spyOn(embedder, 'embed');
    await selectItems(facts, 'the dentist appointment', { budgetTokens: 1_000, vectors });
    await selectItems(facts, 'Ada in Lyon', { budgetTokens: 1_000, vectors });
    // The four facts were embedded on the first turn: now one query a turn.
    expect(embed.mock.calls.map(([texts]) => texts.length)).toEqual([1, 1]);
    embed.mockRestore();
  });

  it('blends BM25 from the items table with the cosine: a fact that shares a rare word wins a one-fact budget, and scopes stay apart', async () => {
    const db = openDatabase(':memory:');
    const store = new MemoryItemStore(db);
    for (const text of ['My locker code at the gym is 4471', 'I like long walks by the sea', 'My gym bag is blue']) store.add({ scope: 'telegram:42', text, source: 'tool' });
    store.add({ scope: 'telegram:7', text: 'My locker code is 4471 too', source: 'tool' });
    const mine = store.list('telegram:42');
    const keywords = store.keywordScores('telegram:42', 'locker 4471');
    // Only this scope's items, and only those sharing a word.
    expect([...keywords.keys()]).toEqual([mine[0]?.id]);
    expect(keywords.get(mine[0]!.id)).toBeGreaterThan(0);
    const vectors = new ItemVectors(embedder);
    const { items } = await selectItems(mine, 'locker 4471', { budgetTokens: words(`${MEMORY_PREFIX}${mine[0]!.text}`), countTokens: words, vectors, keywords });
    expect(items.map((i) => i.text)).toEqual(['My locker code at the gym is 4471']);
    // A forgotten item leaves the index too.
    store.forget('telegram:42', 'My gym bag is blue');
    expect(store.keywordScores('telegram:42', 'bag').size).toBe(0);
    db.close();
  });

  it('lexical score: the share of the query content words a fact has', () => {
    expect(lexicalScore('is my sister Ada?', 'My sister is called Ada')).toBe(1);
    expect(lexicalScore('the sister of Bo', 'My sister is called Ada')).toBe(0.5);
    expect(lexicalScore('', 'anything')).toBe(0);
  });
});
