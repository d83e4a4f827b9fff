import type { Message } from '@hearth/shared';
import type { TurnTool } from '../inference/engine.js';
import type { Logger } from '../logger.js';
import type { Embedder } from '../recall/embedder.js';
import { openDatabase, type Db } from './database.js';
import { MemoryFileSync } from './memory-file.js';
import type { MemoryItemsConfig } from './memory-items-config.js';
import { MemoryItemStore, type MemoryItem } from './memory-items.js';
import { ItemVectors, selectItems } from './memory-recall.js';
import { memoryTools } from './memory-tools.js';

export interface LongTermMemoryOptions {
  config: Pick<MemoryItemsConfig, 'filePath' | 'budgetTokens'>;
  /** The core's SQLite file (opened on a connection of its own, as recall does). */
  dbPath: string;
  /** The recall embedder, for relevance by meaning beside BM25; none: BM25 alone. */
  embedder?: Embedder | undefined;
  /** BM25's share beside the vectors (recall's HEARTH_RECALL_KEYWORD_WEIGHT). */
  keywordWeight?: number;
  log?: Logger;
  /** Follow the owner's edits of MEMORY.md (default true). */
  watch?: boolean;
}

/** The scope of a message's items: its sender's key (`telegram:42`, `api:ada`). */
export const scopeOf = (message: Message): string => message.sender.id;

/**
 * What the assistant knows about the people it talks to: facts (memory items) per sender, kept
 * in SQLite and in the owner's MEMORY.md, written by the model's `remember`/`forget`, by
 * `/remember`/`/forget` and by `hearth memory`, and recalled into each turn's context.
 *
 * @example
 * const memory = LongTermMemory.open({ config: loadMemoryItemsConfig(process.env), dbPath: '.hearth/core.db' });
 */
export class LongTermMemory {
  private readonly vectors: ItemVectors | undefined;
  private disposed = false;

  private constructor(
    readonly items: MemoryItemStore,
    readonly file: MemoryFileSync,
    private readonly db: Db,
    private readonly budgetTokens: number,
    embedder: Embedder | undefined,
    private readonly keywordWeight: number | undefined,
  ) {
    this.vectors = embedder && new ItemVectors(embedder);
  }

  static open({ config, dbPath, embedder, keywordWeight, log, watch = true }: LongTermMemoryOptions): LongTermMemory {
    const db = openDatabase(dbPath);
    try {
      const items = new MemoryItemStore(db);
      const file = MemoryFileSync.open(items, config.filePath, log);
      if (watch) file.watch();
      return new LongTermMemory(items, file, db, config.budgetTokens, embedder, keywordWeight);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** `remember` and `forget` for this turn's sender. */
  toolsFor(message: Message): TurnTool[] {
    return memoryTools(this.items, message, scopeOf(message));
  }

  /**
   * The sender's items most relevant to the message, within the token budget, as context lines.
   * None in a group or channel: others read the reply there.
   */
  async contextFor(message: Message, countTokens?: (text: string) => number): Promise<{ lines: string[]; items: MemoryItem[]; tokens: number }> {
    if (message.conversation.type !== 'private') return { lines: [], items: [], tokens: 0 };
    const scope = scopeOf(message);
    return selectItems(this.items.list(scope), message.content.text, {
      budgetTokens: this.budgetTokens,
      vectors: this.vectors,
      keywords: this.items.keywordScores(scope, message.content.text),
      ...(this.keywordWeight === undefined ? {} : { keywordWeight: this.keywordWeight }),
      ...(countTokens ? { countTokens } : {}),
    });
  }

  /** Closes its file and database. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.file.dispose();
    this.db.close();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
