import type { Logger } from '../logger.js';
import type { ApiHistory } from './api-history.js';
import type { Answer, Feedback, HistoryStore, Turn } from './history-store.js';
import { HotCache, type HotCacheStats } from './hot-cache.js';
import type { Session, StateStore } from './state.js';
import type { SummaryStore } from './summary-store.js';

/** A conversation as the pipeline needs it before generating. */
export interface Recalled {
  conversationId: string;
  /** The reset generation these turns belong to: hand it back to {@link Memory.remember}. */
  generation: number;
  session: Session;
  /** The most recent turns, oldest first. */
  turns: Turn[];
}

/** Changes to a session the pipeline may make; the generation belongs to `reset`. */
export interface SessionPatch {
  summary?: string;
  summaryThrough?: string;
}

/** Where remembered turns and resets are shared (HistorySync implements it). */
export interface Replica {
  publish(generation: number, turns: readonly Turn[]): void;
  publishReset(conversationId: string, generation: number): void;
}

export interface TierStats {
  hits: number;
  misses: number;
}

/**
 * Per-tier counters for metrics: each lookup counts as a hit or a miss at the tier that answered
 * it (L1 for hot contexts; the state tier for sessions; L3 for turns read from disk). `l2` is null
 * when the core runs without Redis, and session lookups then count at L3.
 */
export interface MemoryStats {
  l1: HotCacheStats;
  l2: TierStats | null;
  l3: TierStats;
}

export interface MemoryOptions {
  history: HistoryStore;
  /** Sessions: Redis (L2) when configured, else SQLite (L3). */
  state: StateStore;
  /** Running summaries on disk (L3), beside the session's copy; none: the session's only. */
  summaries?: SummaryStore;
  log: Logger;
  hotCacheBytes: number;
  historyTurns: number;
  answerTtlSeconds: number;
  /** How often old answer records (and, on SQLite, idle sessions) are deleted; 0 turns it off. */
  pruneEveryMs?: number;
  /**
   * Shares stored turns and resets with the other cores (HistorySync, with Redis); what is not
   * of a shared conversation is left out there.
   */
  replicate?: Replica;
  /** Frees what this memory owns (database, Redis connection); called once, by `dispose`. */
  onClose?: () => Promise<void> | void;
}

interface HotContext {
  generation: number;
  turns: Turn[];
}

/**
 * The core's memory, one interface whatever is configured. A read takes the session from the
 * shared store (L2, or L3 without Redis) and the recent turns from L1, falling back to L3 (then
 * kept hot). Writes go through:
 * - turns and answer records are written to L3 (disk, the full history) and the hot context in
 *   L1 is updated; they are not stored in Redis, which is shared and should not hold message
 *   text. API conversations' turns pass through it (pub/sub, see history-sync.ts) to the other
 *   cores' disks, so any core can answer a client's history request;
 * - sessions live in exactly one shared place: L2 when configured, else L3. Never
 *   both: each core has its own disk, and a per-disk copy beside Redis would be a fork that
 *   brings back state another core has reset.
 * - `reset` bumps the session's generation in the shared store first. Every `recall` reads the
 *   session (one GET), so a core sharing the Redis notices a higher generation, drops its hot
 *   context and deletes its older turns from disk. The highest generation seen is also kept on
 *   disk, so a session that expired from Redis cannot bring reset turns back.
 *
 * @example
 * await using memory = await openMemory(loadMemoryConfig(process.env), log);
 * const { generation, turns } = await memory.recall('telegram:42');
 * memory.remember({ generation, turns: [question, reply], answer });
 */
export class Memory implements AsyncDisposable {
  private readonly history: HistoryStore;
  private readonly state: StateStore;
  private readonly hot: HotCache<HotContext>;
  private readonly window: number;
  private readonly tiers = { l2: { hits: 0, misses: 0 }, l3: { hits: 0, misses: 0 } };
  private readonly pruneTimer: NodeJS.Timeout | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: MemoryOptions) {
    this.history = options.history;
    this.state = options.state;
    this.window = options.historyTurns;
    this.hot = new HotCache<HotContext>({ maxBytes: options.hotCacheBytes });
    const every = options.pruneEveryMs ?? 3_600_000;
    if (every > 0) {
      this.pruneTimer = setInterval(() => {
        try {
          this.prune();
        } catch (error) {
          options.log.warn({ err: error instanceof Error ? error.message : String(error) }, 'memory prune failed');
        }
      }, every);
      this.pruneTimer.unref();
    }
  }

  /** API clients' history on this disk (what `history` frames from the edge ask about). */
  get apiHistory(): ApiHistory {
    return this.history.api;
  }

  /** Turns of a conversation handed to the model at most (HEARTH_HISTORY_TURNS). */
  get windowTurns(): number {
    return this.window;
  }

  /** Where sessions live: `l2` (Redis) or `l3` (SQLite). */
  get stateTier(): 'l2' | 'l3' {
    return this.state.tier;
  }

  /**
   * The conversation's session and its last `limit` turns (default: the configured window).
   * Always asks the shared store for the session, so a reset made by another core is seen.
   */
  async recall(conversationId: string, limit = this.window): Promise<Recalled> {
    const stored = await this.state.session(conversationId);
    this.count(this.state.tier, stored !== undefined);
    const generation = this.catchUp(conversationId, stored?.generation ?? 0);
    const session: Session = { updatedAt: 0, ...stored, generation, ...this.diskSummary(conversationId, generation, stored) };
    return { conversationId, generation, session, turns: this.turns(conversationId, generation, limit) };
  }

  /**
   * Stores turns (and the answer record of the delivery they answer) on disk in one
   * transaction, then appends them to the hot context if it is of the same generation.
   */
  remember(exchange: { generation: number; turns: readonly Turn[]; answer?: Answer }): void {
    const { generation, turns, answer } = exchange;
    this.store(generation, turns, answer);
    this.options.replicate?.publish(generation, turns);
  }

  /**
   * Turns another core stored (from HistorySync): kept on this disk too, without sharing them
   * again. Turns of a generation this core has reset past are dropped; a newer generation
   * means the other core saw a reset this one has not, and older turns go, as on recall.
   */
  absorb(generation: number, turns: readonly Turn[]): void {
    const kept: Turn[] = [];
    for (const conversationId of new Set(turns.map((turn) => turn.conversationId))) {
      if (generation < this.history.generation(conversationId)) continue;
      this.catchUp(conversationId, generation);
      kept.push(...turns.filter((turn) => turn.conversationId === conversationId));
    }
    if (kept.length > 0) this.store(generation, kept);
  }

  /** Another core reset a conversation (from HistorySync): its older turns go here too. */
  absorbReset(conversationId: string, generation: number): void {
    this.catchUp(conversationId, generation);
  }

  /** Writes turns to disk and appends them to a hot context of the same generation. */
  private store(generation: number, turns: readonly Turn[], answer?: Answer): void {
    this.history.append(turns, generation, answer);
    for (const conversationId of new Set(turns.map((turn) => turn.conversationId))) {
      const hot = this.hot.peek(conversationId);
      if (!hot || hot.generation !== generation) continue;
      const known = new Set(hot.turns.map((turn) => turn.messageId));
      const added = turns.filter((turn) => turn.conversationId === conversationId && !known.has(turn.messageId));
      this.hot.set(conversationId, { generation, turns: [...hot.turns, ...added].slice(-this.window) });
    }
  }

  /** Keeps the reply given to a message that is not part of the conversation (a command's answer). */
  recordAnswer(answer: Answer): void {
    this.history.recordAnswer(answer);
  }

  /** The reply already given to `messageId`, for answering a redelivery from disk. */
  answerFor(messageId: string): Answer | undefined {
    return this.history.answer(messageId);
  }

  /** Changes the session in the shared store. */
  updateSession(conversationId: string, patch: SessionPatch): Promise<Session> {
    const local = this.history.generation(conversationId);
    return this.state.updateSession(conversationId, (current) => ({
      ...current,
      ...patch,
      // Heals a session Redis forgot: it restarts at the generation this disk remembers.
      generation: Math.max(current?.generation ?? 0, local),
      updatedAt: Date.now(),
    }));
  }

  /**
   * Replaces the conversation's running summary, on disk and in the shared session, unless a
   * `/reset` came since `generation` (then the summary is of turns no longer in the conversation).
   */
  async updateSummary(conversationId: string, generation: number, summary: { text: string; through: string }): Promise<boolean> {
    const local = this.history.generation(conversationId);
    let current = false;
    // Checked inside the atomic update: a reset between a check and the write would be undone.
    await this.state.updateSession(conversationId, (session) => {
      const now = Math.max(session?.generation ?? 0, local);
      current = now === generation;
      const updatedAt = Date.now();
      return current ? { ...session, generation: now, summary: summary.text, summaryThrough: summary.through, updatedAt } : { updatedAt, ...session, generation: now };
    });
    // A stale row left by a reset racing this is of an older generation, never read.
    if (current) this.options.summaries?.put(conversationId, { generation, ...summary, updatedAt: Date.now() });
    return current;
  }

  /**
   * Clears the conversation (`/reset`) in every tier: a new generation in the shared store
   * (seen by every core on their next recall), its turns deleted here, the hot context dropped.
   * The summary goes too (here and on disk). Returns the new generation.
   */
  async reset(conversationId: string): Promise<number> {
    const local = this.history.generation(conversationId);
    // The shared store goes first: if it fails nothing has changed, and if this process dies
    // right after, the next recall finds the higher generation and finishes the job.
    const session = await this.state.updateSession(conversationId, (current) => ({
      ...current,
      generation: Math.max(current?.generation ?? 0, local) + 1,
      summary: undefined,
      summaryThrough: undefined,
      updatedAt: Date.now(),
    }));
    this.options.summaries?.delete(conversationId);
    this.history.forget(conversationId, session.generation);
    this.hot.delete(conversationId);
    this.options.replicate?.publishReset(conversationId, session.generation);
    return session.generation;
  }

  feedbackFor(messageId: string): Feedback[] {
    return this.history.feedbackFor(messageId);
  }

  /** Deletes answer records past their TTL, and idle sessions where the store does not expire them. */
  prune(now = Date.now()): { answers: number; sessions: number } {
    return {
      answers: this.history.pruneAnswers(now - this.options.answerTtlSeconds * 1000),
      sessions: this.state.prune?.(now) ?? 0,
    };
  }

  stats(): MemoryStats {
    return {
      l1: this.hot.stats(),
      l2: this.state.tier === 'l2' ? { ...this.tiers.l2 } : null,
      l3: { ...this.tiers.l3 },
    };
  }

  /** Stops the prune timer and frees what the memory owns. Safe to call twice. */
  dispose(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.pruneTimer);
      this.hot.clear();
      await this.options.onClose?.();
    })();
    return this.closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.dispose();
  }

  /** The disk's summary when the shared session has none of this generation (expired, or Redis flushed). */
  private diskSummary(conversationId: string, generation: number, stored: Session | undefined): Pick<Session, 'summary' | 'summaryThrough'> {
    if (stored?.summary !== undefined && stored.generation === generation) return {};
    const disk = this.options.summaries?.get(conversationId, generation);
    return disk ? { summary: disk.text, summaryThrough: disk.through } : {};
  }

  /** The generation to use: the higher of the shared store's and this disk's. */
  private catchUp(conversationId: string, shared: number): number {
    const local = this.history.generation(conversationId);
    if (shared <= local) return local;
    // Another core reset this conversation since we last saw it.
    this.history.forget(conversationId, shared);
    this.hot.delete(conversationId);
    return shared;
  }

  private turns(conversationId: string, generation: number, limit: number): Turn[] {
    if (limit <= this.window) {
      const hot = this.hot.get(conversationId, (context) => context.generation === generation);
      if (hot) return hot.turns.slice(-limit);
    }
    const turns = this.history.recent(conversationId, generation, Math.max(limit, this.window));
    this.count('l3', turns.length > 0);
    this.hot.set(conversationId, { generation, turns: turns.slice(-this.window) });
    return turns.slice(-limit);
  }

  private count(tier: 'l2' | 'l3', hit: boolean): void {
    if (hit) this.tiers[tier].hits++;
    else this.tiers[tier].misses++;
  }
}
