import { resolve } from 'node:path';
import { openDatabase, type Db } from '../memory/database.js';
import { chunkText, type ChunkOptions } from './chunk.js';
import { DEFAULT_KEYWORD_WEIGHT, type RecallConfig } from './config.js';
import { createEmbedder } from './create-embedder.js';
import type { Embedder } from './embedder.js';
import { excerpt } from './excerpt.js';
import { words } from './features.js';
import { NoteFileError } from './errors.js';
import { readNoteFile } from './note-file.js';
import { GLOBAL_OWNER, VectorStore, type NoteSummary, type PutResult, type RecallHit, type RecallSource } from './store.js';

/** What `remember` did: stored anew, replaced a different text, nothing (same text), or skipped an empty one. */
export type RememberResult = PutResult | 'skipped';

export interface NoteFileResult {
  /** The resolved path: notes are known by it. */
  file: string;
  owner: string;
  chunks: number;
  added: number;
  updated: number;
  unchanged: number;
  /** Chunks of an earlier version of the file that no longer exist. */
  removed: number;
}

export interface ContextOptions {
  /** The whole context's length, bullets and newlines included (default 600). */
  maxChars?: number;
  /** Most snippets (default 3). */
  k?: number;
  /** Least cosine (default: the embedder's {@link Embedder.suggestedMinScore}). */
  minScore?: number;
  /** Ids of messages the prompt holds already (the conversation's turns): recalling them adds nothing. */
  skipRefs?: ReadonlySet<string>;
}

export interface RecallContext {
  /** Ready for the prompt: one `- snippet` line per hit, at most `maxChars` long; '' when nothing is relevant. */
  text: string;
  snippets: (RecallHit & { excerpt: string })[];
}

const EMBED_BATCH = 32;
// Below this a snippet says too little to be worth its place in the prompt.
const MIN_SNIPPET_CHARS = 40;
const RELATIVE_MIN_SCORE = 0.5;
/** Candidates each search hands the blend: enough that one method's miss can be the other's hit. */
const POOL = 20;
/** Least keyword score that counts on its own (a common word matches everything a little). */
const MIN_KEYWORD_SCORE = 0.2;
const flat = (text: string) => words(text).join(' ');

/**
 * Long-term memory: remembers messages and notes as vectors and finds the few most relevant to
 * a query, for the prompt. Search covers the owner's own items and the global notes.
 *
 * @example
 * const recall = await Recall.open({ dbPath: '.hearth/core.db', config: loadRecallConfig(process.env) });
 * await recall.addNoteFile('notes.md');
 * const { text } = await recall.contextFor('telegram:42', 'when is my dentist appointment?');
 */
export class Recall {
  readonly store: VectorStore;
  private disposing: Promise<void> | undefined;

  /**
   * Recall on an open database (its `recall` tables are created if needed). `owned`: `dispose()`
   * also releases `db` and `embedder`. `keywordWeight`: BM25's share of a hit's score.
   */
  constructor(
    readonly db: Db,
    readonly embedder: Embedder,
    private readonly owned = false,
    private readonly keywordWeight = DEFAULT_KEYWORD_WEIGHT,
  ) {
    this.store = new VectorStore(db);
  }

  /** Opens the database and the configured embedder; `dispose()` releases both. */
  static async open(options: { dbPath: string; config: Pick<RecallConfig, 'modelPath' | 'tokenizerPath' | 'threads'> & Partial<Pick<RecallConfig, 'keywordWeight'>> }): Promise<Recall> {
    const embedder = await createEmbedder(options.config);
    try {
      return new Recall(openDatabase(options.dbPath), embedder, true, options.config.keywordWeight);
    } catch (error) {
      await embedder.dispose();
      throw error;
    }
  }

  /**
   * Stores `text` for `owner` under `ref` (a message id, or a note's `file#chunk`). The same
   * ref again is stored once: unchanged text is not even re-embedded.
   */
  async remember(owner: string, text: string, source: RecallSource, ref: string, createdAt = Date.now()): Promise<RememberResult> {
    if (words(text).length === 0) return 'skipped';
    const existing = this.store.find(owner, source, ref);
    if (existing?.text === text && this.store.hasVector(existing.id, this.embedder.name)) return 'unchanged';
    const [vector] = await this.embedder.embed([text]);
    if (vector === undefined) throw new Error(`embedder ${this.embedder.name} returned no vector`);
    return this.store.put({ owner, source, ref, text, createdAt }, this.embedder.name, vector).result;
  }

  /**
   * Adds a text or markdown file as notes, in chunks (see {@link chunkText}). Adding the same
   * file again updates it: changed chunks are re-embedded, vanished ones removed.
   *
   * @throws NoteFileError when the file is missing, unreadable, binary or has no text
   */
  async addNoteFile(path: string, options: { owner?: string; chunking?: ChunkOptions } = {}): Promise<NoteFileResult> {
    const file = resolve(path);
    const owner = options.owner ?? GLOBAL_OWNER;
    const chunks = chunkText(await readNoteFile(file), options.chunking);
    if (chunks.length === 0) throw new NoteFileError(`${file} has no text to remember`);
    const result: NoteFileResult = { file, owner, chunks: chunks.length, added: 0, updated: 0, unchanged: 0, removed: 0 };
    const refs = chunks.map((_, i) => `${file}#${i}`);
    const pending = chunks.flatMap((text, i) => {
      const existing = this.store.find(owner, 'note', refs[i] ?? '');
      if (existing?.text === text && this.store.hasVector(existing.id, this.embedder.name)) {
        result.unchanged++;
        return [];
      }
      return [{ text, ref: refs[i] ?? '' }];
    });
    const now = Date.now();
    for (let start = 0; start < pending.length; start += EMBED_BATCH) {
      const batch = pending.slice(start, start + EMBED_BATCH);
      const vectors = await this.embedder.embed(batch.map((p) => p.text));
      for (const [i, { text, ref }] of batch.entries()) {
        const vector = vectors[i];
        if (vector === undefined) throw new Error(`embedder ${this.embedder.name} returned too few vectors`);
        result[this.store.put({ owner, source: 'note', ref, text, createdAt: now }, this.embedder.name, vector).result]++;
      }
    }
    result.removed = this.store.prune(owner, 'note', `${file}#`, new Set(refs));
    return result;
  }

  /**
   * The `k` items most relevant to `query` among `owner`'s and the global notes, best first, by
   * both searches: the vectors' cosine (paraphrases) and BM25 over the words (names, numbers,
   * rare words). Each hit's `score` is the blend, `keywordWeight` × keyword + the rest × cosine,
   * with both parts beside it. A hit is kept when its cosine reaches `minScore` or its words
   * match well on their own.
   */
  async search(owner: string, query: string, k = 5, minScore = this.embedder.suggestedMinScore): Promise<RecallHit[]> {
    if (words(query).length === 0 || k <= 0) return [];
    const [vector] = await this.embedder.embed([query]);
    if (vector === undefined) return [];
    const owners = owner === GLOBAL_OWNER ? [GLOBAL_OWNER] : [owner, GLOBAL_OWNER];
    const pool = Math.max(k, POOL);
    const byId = new Map<number, RecallHit>();
    for (const hit of this.store.search(owners, this.embedder.name, vector, pool, -1)) byId.set(hit.id, { ...hit, keywordScore: 0 });
    for (const hit of this.keywordWeight > 0 ? this.store.keywordSearch(owners, query, pool) : []) {
      const seen = byId.get(hit.id);
      byId.set(hit.id, { ...(seen ?? hit), vectorScore: seen?.vectorScore ?? 0, keywordScore: hit.keywordScore ?? 0 });
    }
    const blend = (hit: RecallHit) => this.keywordWeight * (hit.keywordScore ?? 0) + (1 - this.keywordWeight) * Math.max(0, hit.vectorScore ?? 0);
    return [...byId.values()]
      .filter((hit) => (hit.vectorScore ?? 0) >= minScore || (this.keywordWeight > 0 && (hit.keywordScore ?? 0) >= MIN_KEYWORD_SCORE))
      .map((hit) => ({ ...hit, score: blend(hit) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, k);
  }

  /**
   * The few memories most relevant to `query`, cut to fit `maxChars` in all: what the pipeline
   * adds to the prompt. Small by default (3 snippets, 600 characters) because small local models
   * lose the thread in long prompts. The budget is shared fairly: a short snippet leaves its
   * unused share to the next; each long one is cut to the part nearest the query. Hits scoring
   * under half the best one are left out.
   */
  async contextFor(owner: string, query: string, options: ContextOptions = {}): Promise<RecallContext> {
    const { maxChars = 600, k = 3 } = options;
    const asked = flat(query);
    // Fewer snippets rather than slivers: each gets at least MIN_SNIPPET_CHARS plus its "- " and newline.
    const fit = Math.floor((maxChars + 1) / (MIN_SNIPPET_CHARS + 3));
    // The message being answered may already be stored: recalling it to itself adds nothing.
    const skip = options.skipRefs ?? new Set<string>();
    const found = (await this.search(owner, query, k + 1 + skip.size, options.minScore)).filter(
      (hit) => flat(hit.text) !== asked && !(hit.source === 'message' && skip.has(hit.ref)),
    );
    // Beside a strong match, a weak one is more likely noise than a second memory.
    const floor = (found[0]?.score ?? 0) * RELATIVE_MIN_SCORE;
    const hits = found.filter((hit) => hit.score >= floor).slice(0, Math.min(k, fit));
    const snippets: RecallContext['snippets'] = [];
    const lines: string[] = [];
    let remaining = maxChars;
    for (const [i, hit] of hits.entries()) {
      const overhead = 2 + (lines.length > 0 ? 1 : 0); // "- " and the newline before it
      const share = Math.floor(remaining / (hits.length - i)) - overhead;
      if (share < MIN_SNIPPET_CHARS) break;
      const cut = excerpt(hit.text, query, share);
      snippets.push({ ...hit, excerpt: cut });
      lines.push(`- ${cut}`);
      remaining -= cut.length + overhead;
    }
    return { text: lines.join('\n'), snippets };
  }

  /** Note files added, per owner. */
  notes(): NoteSummary[] {
    return this.store.noteFiles();
  }

  /**
   * Embeds items stored without a vector from the current embedder (after switching models),
   * so they become searchable again. Returns how many were embedded.
   */
  async reindex(): Promise<number> {
    let done = 0;
    for (;;) {
      const items = this.store.missingVectors(this.embedder.name, EMBED_BATCH);
      if (items.length === 0) return done;
      const vectors = await this.embedder.embed(items.map((item) => item.text));
      for (const [i, item] of items.entries()) {
        const vector = vectors[i];
        if (vector === undefined) throw new Error(`embedder ${this.embedder.name} returned too few vectors`);
        this.store.setVector(item.id, this.embedder.name, vector);
      }
      done += items.length;
    }
  }

  /** Releases what `open` created (the embedder and the database); a no-op for borrowed ones. */
  dispose(): Promise<void> {
    this.disposing ??= (async () => {
      if (!this.owned) return;
      await this.embedder.dispose();
      this.db.close();
    })();
    return this.disposing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }
}
