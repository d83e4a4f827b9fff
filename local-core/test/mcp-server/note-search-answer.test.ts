import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { answerNoteSearch } from '../../src/mcp-server/note-search-answer.js';
import { openDatabase, type Db } from '../../src/memory/database.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';
import { Recall } from '../../src/recall/recall.js';
import { silentLogger, tempDir } from '../support.js';

let hashing: HashingEmbedder;
beforeAll(async () => {
  hashing = await HashingEmbedder.create();
});
afterAll(() => hashing.dispose());

let db: Db;
let recall: Recall;
let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  db = openDatabase(join(dir, 'core.db'));
  recall = new Recall(db, hashing);
});
afterEach(async () => {
  await recall.dispose();
  db.close();
  await cleanup();
});

const note = async (name: string, text: string, owner?: string) => {
  const file = join(dir, name);
  await writeFile(file, text);
  await recall.addNoteFile(file, owner ? { owner } : {});
  return file;
};

const search = (user: string, query: string) => answerNoteSearch({ v: 1, type: 'note_search', request_id: 'r1', user, query, limit: 5 }, recall, silentLogger());

describe('answerNoteSearch (MCP search_notes at the core)', () => {
  it("finds the user's own notes and the shared ones, with their scores; never another user's nor remembered messages", async () => {
    const mine = await note('ada.md', 'The garden shed key hangs behind the kitchen door.', 'api:ada');
    const shared = await note('house.md', 'The garden hose is in the shed by the fence.');
    await note('bob.md', 'The garden shed key is under the flower pot.', 'api:bob');
    await recall.remember('api:ada:agent', 'where is the garden shed key', 'message', 'api:ada:agent:1');

    const answer = await search('ada', 'garden shed key');
    expect(answer).toMatchObject({ type: 'note_search_result', request_id: 'r1', ok: true });
    const refs = answer.hits?.map((hit) => hit.ref) ?? [];
    expect(refs).toEqual(expect.arrayContaining([`${mine}#0`, `${shared}#0`]));
    expect(refs).toHaveLength(2);
    expect(answer.hits?.[0]).toMatchObject({ ref: `${mine}#0`, text: 'The garden shed key hangs behind the kitchen door.' });
    expect(answer.hits?.[0]?.score).toBeGreaterThan(0);
  });

  it('answers ok: false when recall is off, instead of not answering', async () => {
    const answer = await answerNoteSearch({ v: 1, type: 'note_search', request_id: 'r2', user: 'ada', query: 'x', limit: 1 }, undefined, silentLogger());
    expect(answer).toEqual({ type: 'note_search_result', request_id: 'r2', ok: false, error: expect.stringContaining('recall is off') });
  });
});
