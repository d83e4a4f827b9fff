import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/memory/database.js';
import type { Embedder } from '../../src/recall/embedder.js';
import { NoteFileError } from '../../src/recall/errors.js';
import { HashingEmbedder } from '../../src/recall/hashing-embedder.js';
import { Recall } from '../../src/recall/recall.js';
import { GLOBAL_OWNER } from '../../src/recall/store.js';
import { tempDir } from '../support.js';
import { NOTES_MD } from './fixtures.js';

/** The real embedder, counting the texts it is asked to embed. */
class CountingEmbedder implements Embedder {
  embedded = 0;
  constructor(private readonly inner: Embedder) {}
  get name() {
    return this.inner.name;
  }
  get dimensions() {
    return this.inner.dimensions;
  }
  get suggestedMinScore() {
    return this.inner.suggestedMinScore;
  }
  embed(texts: readonly string[]) {
    this.embedded += texts.length;
    return this.inner.embed(texts);
  }
  dispose() {
    return Promise.resolve();
  }
}

let hashing: HashingEmbedder;
beforeAll(async () => {
  hashing = await HashingEmbedder.create();
});
afterAll(() => hashing.dispose());

let db: Db;
let embedder: CountingEmbedder;
let recall: Recall;
let dir: string;
let cleanup: () => Promise<void>;
let notesFile: string;
beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  db = openDatabase(join(dir, 'core.db'));
  embedder = new CountingEmbedder(hashing);
  recall = new Recall(db, embedder);
  notesFile = join(dir, 'notes.md');
  await writeFile(notesFile, NOTES_MD);
});
afterEach(async () => {
  await recall.dispose();
  db.close();
  await cleanup();
});

describe('recall of notes', () => {
  it('adds a markdown file in chunks and finds the dentist chunk first for a dentist question', async () => {
    const added = await recall.addNoteFile(notesFile);
    expect(added).toMatchObject({ file: notesFile, owner: GLOBAL_OWNER, chunks: 5, added: 5, updated: 0, unchanged: 0, removed: 0 });
    const hits = await recall.search('telegram:42', 'my dentist appointment on Tuesday', 5, -1);
    expect(hits).toHaveLength(5);
    expect(hits[0]!.text).toMatch(/^# Health/);
    expect(hits[0]!.ref).toBe(`${notesFile}#0`);
    expect(hits[0]!.score).toBeGreaterThan(hashing.suggestedMinScore);
    // The rest are unrelated: clearly below, and below the embedder's threshold.
    for (const other of hits.slice(1)) expect(other.score).toBeLessThan(Math.min(hashing.suggestedMinScore, hits[0]!.score / 2));
    expect((await recall.search('telegram:42', 'my dentist appointment on Tuesday')).map((h) => h.ref)).toEqual([`${notesFile}#0`]);
    expect((await recall.search('telegram:42', 'when should I water the tomatoes?'))[0]?.text).toMatch(/^# Garden/);
  });

  it('re-adding a file embeds nothing again; an edited file updates changed chunks and drops vanished ones', async () => {
    await recall.addNoteFile(notesFile);
    const first = embedder.embedded;
    expect(await recall.addNoteFile(notesFile)).toMatchObject({ chunks: 5, added: 0, updated: 0, unchanged: 5, removed: 0 });
    expect(embedder.embedded).toBe(first);
    const sections = NOTES_MD.split(/\n(?=# )/);
    await writeFile(notesFile, [sections[0]!.replace('Tuesday at 9:30', 'Thursday at 14:00'), sections[1]].join('\n'));
    expect(await recall.addNoteFile(notesFile)).toMatchObject({ chunks: 2, added: 0, updated: 1, unchanged: 1, removed: 3 });
    expect(embedder.embedded).toBe(first + 1);
    expect(recall.notes()).toEqual([expect.objectContaining({ owner: GLOBAL_OWNER, file: notesFile, chunks: 2 })]);
    const [hit] = await recall.search(GLOBAL_OWNER, 'dentist appointment');
    expect(hit?.text).toContain('Thursday at 14:00');
  });

  it("keeps a user's notes to that user", async () => {
    await recall.addNoteFile(notesFile, { owner: 'telegram:1' });
    expect(await recall.search('telegram:1', 'dentist appointment')).toHaveLength(1);
    expect(await recall.search('telegram:2', 'dentist appointment')).toEqual([]);
    expect(await recall.search(GLOBAL_OWNER, 'dentist appointment')).toEqual([]);
  });

  it('says clearly why a file cannot be added', async () => {
    const missing = join(dir, 'missing.md');
    await expect(recall.addNoteFile(missing)).rejects.toThrow(NoteFileError);
    await expect(recall.addNoteFile(missing)).rejects.toThrow(`no note file at ${missing}`);
    await mkdir(join(dir, 'folder'));
    await expect(recall.addNoteFile(join(dir, 'folder'))).rejects.toThrow(/is not a file/);
    await writeFile(join(dir, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00]));
    await expect(recall.addNoteFile(join(dir, 'image.png'))).rejects.toThrow(/is not a text file/);
    await writeFile(join(dir, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    await expect(recall.addNoteFile(join(dir, 'latin1.txt'))).rejects.toThrow(/is not UTF-8 text/);
    await writeFile(join(dir, 'blank.txt'), '\n \n');
    await expect(recall.addNoteFile(join(dir, 'blank.txt'))).rejects.toThrow(/has no text/);
    expect(embedder.embedded).toBe(0);
  });
});

describe('recall of messages', () => {
  it('remembers a message once per reference, and skips texts with no words', async () => {
    expect(await recall.remember('telegram:1', 'My sister Ana lives in Lisbon', 'message', 'telegram:1:100')).toBe('added');
    expect(await recall.remember('telegram:1', 'My sister Ana lives in Lisbon', 'message', 'telegram:1:100')).toBe('unchanged');
    expect(embedder.embedded).toBe(1);
    expect(await recall.remember('telegram:1', ' :) ', 'message', 'telegram:1:101')).toBe('skipped');
    expect(db.prepare('SELECT count(*) AS n FROM recall_items').get()).toEqual({ n: 1 });
  });

  it("finds a conversation's messages for it alone, and the global notes for everyone", async () => {
    await recall.remember('telegram:1', 'My sister Ana lives in Lisbon and works as a nurse', 'message', 'm1');
    await recall.addNoteFile(notesFile);
    const mine = await recall.search('telegram:1', 'where does my sister Ana live?');
    expect(mine[0]?.ref).toBe('m1');
    expect((await recall.search('telegram:2', 'where does my sister Ana live?', 10, -1)).map((h) => h.ref)).not.toContain('m1');
    expect((await recall.search('telegram:2', 'car insurance renewal'))[0]?.text).toMatch(/^# Car/);
  });

  it('re-embeds items after a change of embedder, whose vectors it cannot compare until then', async () => {
    await recall.remember('telegram:1', 'The wifi password is on the fridge', 'message', 'm1');
    const other = await HashingEmbedder.create({ params: { seed: 1 } });
    const switched = new Recall(db, other);
    try {
      expect(other.name).not.toBe(hashing.name);
      expect(await switched.search('telegram:1', 'wifi password')).toEqual([]);
      expect(await switched.reindex()).toBe(1);
      expect(await switched.reindex()).toBe(0);
      expect((await switched.search('telegram:1', 'wifi password'))[0]?.ref).toBe('m1');
    } finally {
      await other.dispose();
    }
  });
});

describe('context for the prompt', () => {
  beforeEach(async () => {
    await recall.addNoteFile(notesFile);
  });

  it('gives the few relevant snippets within a small budget, the best first, cut near the query', async () => {
    const context = await recall.contextFor('telegram:42', 'when is my dentist appointment on Tuesday?');
    expect(context.text.length).toBeLessThanOrEqual(600);
    expect(context.snippets.length).toBeGreaterThanOrEqual(1);
    expect(context.snippets.length).toBeLessThanOrEqual(3);
    expect(context.snippets[0]!.ref).toBe(`${notesFile}#0`);
    expect(context.text.startsWith('- ')).toBe(true);
    expect(context.text).toContain('Dr. Lee on Tuesday at 9:30');
    expect(context.text.split('\n')).toHaveLength(context.snippets.length);
  });

  it('keeps to any budget, shared between several snippets', async () => {
    // Each snippet's share is at least 40 characters: fewer snippets rather than slivers.
    const expected = { 30: 0, 60: 1, 120: 2, 200: 3, 350: 3, 900: 3 };
    for (const [maxChars, count] of Object.entries(expected).map(([m, n]) => [Number(m), n] as const)) {
      const context = await recall.contextFor('telegram:42', 'dentist tomatoes insurance lentil passport', { maxChars, k: 3, minScore: -1 });
      expect(context.text.length).toBeLessThanOrEqual(maxChars);
      expect(context.snippets).toHaveLength(count);
      // Each is cut around the query's words, wherever they are in its chunk.
      for (const s of context.snippets) expect(s.excerpt).toMatch(/dentist|tomatoes|insurance|lentil|passport/i);
    }
    // A large budget is used, not wasted: the chunks are longer than their shares.
    expect((await recall.contextFor('telegram:42', 'dentist tomatoes insurance', { maxChars: 900, minScore: -1 })).text.length).toBeGreaterThan(700);
  });

  it('adds nothing when nothing is relevant, and never recalls the question to itself', async () => {
    expect(await recall.contextFor('telegram:42', 'quantum chromodynamics lecture')).toEqual({ text: '', snippets: [] });
    await recall.remember('telegram:42', 'What is the capital of Mongolia?', 'message', 'q1');
    expect((await recall.contextFor('telegram:42', 'What is the capital of Mongolia?')).text).toBe('');
  });
});
