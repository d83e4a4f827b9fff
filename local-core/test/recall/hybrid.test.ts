import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, openDatabase } from '../../src/memory/database.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';
import { Recall } from '../../src/recall/recall.js';
import { GLOBAL_OWNER, VectorStore } from '../../src/recall/store.js';

/**
 * Hybrid recall: BM25 over the words (SQLite FTS5) beside the vectors' cosine, with the built-in
 * embedder. A serial number in a long note is found by its word where the vector blurs it; an
 * inflected word ("appointments") is found by the vector where the words do not match exactly.
 */
const LONG_NOTE =
  'The boiler in the cellar was serviced in March by the plumber from across the river, who also looked at the radiators upstairs, ' +
  'bled the one in the guest room, replaced a valve in the bathroom, checked the pressure, cleaned the filter and wrote the readings ' +
  'in the little blue book that hangs on the nail by the door; the warranty card with serial ZX4471 is tucked inside its back cover, ' +
  'next to the receipt for the expansion vessel, the phone number of the gas company, and a list of what to check each autumn before ' +
  'the first cold night: the flue, the thermostat batteries, the frost setting and the timer for the hot water.';

let hashing: HashingEmbedder;
beforeAll(async () => {
  hashing = await HashingEmbedder.create();
});
afterAll(() => hashing.dispose());

async function recallWith(keywordWeight: number): Promise<Recall> {
  const recall = new Recall(openDatabase(':memory:'), hashing, false, keywordWeight);
  await recall.remember(GLOBAL_OWNER, LONG_NOTE, 'note', 'house.md#0');
  await recall.remember(GLOBAL_OWNER, 'Dentist: my appointment with Dr. Lee is on Tuesday at 9.', 'note', 'health.md#0');
  await recall.remember(GLOBAL_OWNER, 'The garden shed key hangs behind the kitchen door.', 'note', 'house.md#1');
  await recall.remember(GLOBAL_OWNER, 'Birthday card for mum: a card with cats on it.', 'note', 'family.md#0');
  await recall.remember(GLOBAL_OWNER, 'The library card is in the blue wallet.', 'note', 'family.md#1');
  await recall.remember('telegram:42', 'Ada likes her tea with lemon.', 'message', 'telegram:42:7');
  return recall;
}
const refs = (hits: { ref: string }[]) => hits.map((hit) => hit.ref);

describe('hybrid recall (FTS5 BM25 + vectors)', () => {
  it('finds an exact rare token by its word where the vector search ranks shorter notes with common words first', async () => {
    const vectorsOnly = await recallWith(0);
    const hybrid = await recallWith(0.3);
    const query = 'card ZX4471';
    // The serial is one word of a long note: its cosine is diluted below the short notes about cards.
    expect(refs(await vectorsOnly.search(GLOBAL_OWNER, query, 1))).not.toEqual(['house.md#0']);
    const [hit] = await hybrid.search(GLOBAL_OWNER, query, 1);
    expect(hit).toMatchObject({ ref: 'house.md#0', vectorScore: expect.any(Number), keywordScore: expect.any(Number) });
    expect(hit!.keywordScore).toBeGreaterThan(hit!.vectorScore!);
    expect(hit!.score).toBeCloseTo(0.3 * hit!.keywordScore! + 0.7 * Math.max(0, hit!.vectorScore!), 6);
  });

  it('finds an inflected word by the vector where the words do not match exactly', async () => {
    const hybrid = await recallWith(0.3);
    const db = hybrid.db;
    expect(refs(new VectorStore(db).keywordSearch([GLOBAL_OWNER], 'appointments', 5))).toEqual([]);
    const [hit] = await hybrid.search(GLOBAL_OWNER, 'appointments');
    expect(hit).toMatchObject({ ref: 'health.md#0', keywordScore: 0 });
    expect(hit!.vectorScore).toBeGreaterThan(0);
  });

  it('keeps scopes: another sender never gets a message of telegram:42, and the index follows changes and deletions', async () => {
    const recall = await recallWith(0.3);
    expect(refs(await recall.search('telegram:7', 'Ada tea lemon'))).not.toContain('telegram:42:7');
    expect(refs(await recall.search('telegram:42', 'Ada tea lemon'))[0]).toBe('telegram:42:7');
    // A new text replaces the old one in the index too.
    await recall.remember('telegram:42', 'Ada drinks coffee, black.', 'message', 'telegram:42:7');
    const store = new VectorStore(recall.db);
    expect(refs(store.keywordSearch(['telegram:42'], 'lemon', 5))).toEqual([]);
    expect(refs(store.keywordSearch(['telegram:42'], 'coffee', 5))).toEqual(['telegram:42:7']);
    store.prune('telegram:42', 'message', 'telegram:42:', new Set());
    expect(refs(store.keywordSearch(['telegram:42'], 'coffee', 5))).toEqual([]);
  });

  it('indexes the items a database already held when it is upgraded to the full-text index', () => {
    const db = openDatabase(':memory:');
    // The recall tables as the release before this one made them, with an item in them.
    migrate(db, 'recall', [
      `CREATE TABLE recall_items (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, source TEXT NOT NULL CHECK (source IN ('message', 'note')),
         ref TEXT NOT NULL, text TEXT NOT NULL, created_at INTEGER NOT NULL, UNIQUE (owner, source, ref))`,
      `CREATE TABLE recall_vectors (item_id INTEGER NOT NULL REFERENCES recall_items (id) ON DELETE CASCADE, embedder TEXT NOT NULL,
         dimensions INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (item_id, embedder))`,
    ]);
    db.prepare("INSERT INTO recall_items (owner, source, ref, text, created_at) VALUES ('*', 'note', 'old.md#0', 'The wifi password is on the fridge.', 1)").run();
    expect(refs(new VectorStore(db).keywordSearch([GLOBAL_OWNER], 'wifi password', 5))).toEqual(['old.md#0']);
    db.close();
  });

  it('reads FTS syntax in a query as words, never as operators', async () => {
    const recall = await recallWith(0.3);
    for (const query of ['"unbalanced', 'key NEAR(door)', 'text: shed*', 'AND OR NOT', '^kitchen']) {
      await expect(recall.search(GLOBAL_OWNER, query)).resolves.toBeInstanceOf(Array);
    }
    expect(refs(await recall.search(GLOBAL_OWNER, 'text: shed*'))[0]).toBe('house.md#1');
  });
});
