import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/memory/database.js';
import { GLOBAL_OWNER, VectorStore } from '../../src/recall/store.js';
import { tempDir } from '../support.js';

const unit = (...xs: number[]) => {
  const norm = Math.hypot(...xs);
  return Float32Array.from(xs, (x) => x / norm);
};
const item = (owner: string, ref: string, text = `text of ${ref}`) => ({ owner, source: 'message' as const, ref, text, createdAt: 1_700_000_000_000 });

let db: Db | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  db?.close();
  db = undefined;
  await cleanup?.();
  cleanup = undefined;
});
const store = () => {
  db = openDatabase(':memory:');
  return new VectorStore(db);
};

describe('the recall vector store', () => {
  it('stores a reference once: the same text is unchanged, a new text replaces it and its old vectors', () => {
    const s = store();
    expect(s.put(item('telegram:1', 'm1', 'hello'), 'A', unit(1, 0)).result).toBe('added');
    expect(s.put(item('telegram:1', 'm1', 'hello'), 'A', unit(1, 0)).result).toBe('unchanged');
    // Same ref under another owner or source is another item.
    expect(s.put(item('telegram:2', 'm1', 'hello'), 'A', unit(1, 0)).result).toBe('added');
    expect(s.put({ ...item('telegram:1', 'm1', 'hello'), source: 'note' }, 'A', unit(1, 0)).result).toBe('added');
    s.setVector(s.find('telegram:1', 'message', 'm1')!.id, 'B', unit(0, 1, 0));
    expect(s.put(item('telegram:1', 'm1', 'hello again'), 'A', unit(0, 1)).result).toBe('updated');
    const stored = s.find('telegram:1', 'message', 'm1')!;
    expect(stored.text).toBe('hello again');
    expect(s.hasVector(stored.id, 'A')).toBe(true);
    // B's vector was made of the old text: gone, so B will re-embed the new one.
    expect(s.hasVector(stored.id, 'B')).toBe(false);
    expect(db!.prepare('SELECT count(*) AS n FROM recall_items').get()).toEqual({ n: 3 });
  });

  it("searches the owner's items and the global ones, never another owner's", () => {
    const s = store();
    s.put(item('telegram:1', 'mine'), 'A', unit(1, 0.1));
    s.put(item('telegram:2', 'theirs'), 'A', unit(1, 0));
    s.put(item(GLOBAL_OWNER, 'shared'), 'A', unit(1, 0.2));
    const refs = (owners: string[]) => s.search(owners, 'A', unit(1, 0), 10, -1).map((h) => h.ref);
    expect(refs(['telegram:1', GLOBAL_OWNER])).toEqual(['mine', 'shared']);
    expect(refs(['telegram:2', GLOBAL_OWNER])).toEqual(['theirs', 'shared']);
    expect(refs([GLOBAL_OWNER])).toEqual(['shared']);
  });

  it('ranks by cosine, keeps the top k above the minimum score, and returns the items', () => {
    const s = store();
    const angles = [0, 0.3, 0.6, 0.9, 1.2, 2.5];
    for (const [i, a] of angles.entries()) s.put(item('u', `r${i}`), 'A', unit(Math.cos(a), Math.sin(a)));
    const hits = s.search(['u'], 'A', unit(1, 0), 3, -1);
    expect(hits.map((h) => h.ref)).toEqual(['r0', 'r1', 'r2']);
    expect(hits[0]).toMatchObject({ owner: 'u', source: 'message', text: 'text of r0', createdAt: 1_700_000_000_000 });
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    expect(hits[1]!.score).toBeCloseTo(Math.cos(0.3), 6);
    expect(s.search(['u'], 'A', unit(1, 0), 10, 0.7).map((h) => h.ref)).toEqual(['r0', 'r1', 'r2']);
    expect(s.search(['u'], 'A', unit(1, 0), 0, -1)).toEqual([]);
  });

  it("ignores vectors made by another embedder or of other dimensions, and lists what lacks this embedder's", () => {
    const s = store();
    s.put(item('u', 'by-a'), 'A', unit(1, 0));
    s.put(item('u', 'by-b'), 'B', unit(1, 0));
    s.put(item('u', 'by-a-3d'), 'A', unit(1, 0, 0));
    expect(s.search(['u'], 'A', unit(1, 0), 10, -1).map((h) => h.ref)).toEqual(['by-a']);
    expect(s.search(['u'], 'B', unit(1, 0), 10, -1).map((h) => h.ref)).toEqual(['by-b']);
    expect(s.missingVectors('A', 10).map((i) => i.ref)).toEqual(['by-b']);
    expect(s.missingVectors('C', 10).map((i) => i.ref)).toEqual(['by-a', 'by-b', 'by-a-3d']);
  });

  it("prunes a note file's vanished chunks, vectors included, and summarises note files", () => {
    const s = store();
    const note = (ref: string, text: string) => ({ owner: GLOBAL_OWNER, source: 'note' as const, ref, text, createdAt: 5 });
    for (const i of [0, 1, 2]) s.put(note(`/n/a.md#${i}`, `chunk ${i}`), 'A', unit(1, i));
    s.put(note('/n/a.md.bak#0', 'other file'), 'A', unit(1, 0));
    expect(s.noteFiles()).toEqual([
      { owner: GLOBAL_OWNER, file: '/n/a.md', chunks: 3, chars: 21, addedAt: 5 },
      { owner: GLOBAL_OWNER, file: '/n/a.md.bak', chunks: 1, chars: 10, addedAt: 5 },
    ]);
    expect(s.prune(GLOBAL_OWNER, 'note', '/n/a.md#', new Set(['/n/a.md#0']))).toBe(2);
    expect(s.noteFiles().map((n) => [n.file, n.chunks])).toEqual([
      ['/n/a.md', 1],
      ['/n/a.md.bak', 1],
    ]);
    expect(db!.prepare('SELECT count(*) AS n FROM recall_vectors').get()).toEqual({ n: 2 });
  });

  it('keeps items and vectors in the database file across reopening', async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const path = join(tmp.dir, 'core.db');
    const first = openDatabase(path);
    new VectorStore(first).put(item('u', 'kept'), 'A', unit(3, 4));
    first.close();
    db = openDatabase(path);
    const [hit] = new VectorStore(db).search(['u'], 'A', unit(3, 4), 1, 0.9);
    expect(hit?.ref).toBe('kept');
    expect(hit?.score).toBeCloseTo(1, 6);
  });
});
