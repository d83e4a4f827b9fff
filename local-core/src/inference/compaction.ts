import type { Logger } from '../logger.js';
import type { Turn } from '../memory/history-store.js';
import type { Memory } from '../memory/memory.js';
import type { Engine } from './engine.js';

/**
 * After folding, the turns kept as they are take at most `keep` of the history budget and of
 * memory's window: the room left is what the next few turns grow into before the next fold
 * (each fold costs a generation and a rebuilt context, so not every turn).
 */
const COMPACTION = { keep: 0.5 } as const;

/** What the model is asked; small models follow a plain instruction best. */
const INSTRUCTION = 'Summarize the conversation below in a few sentences for your own memory: who the user is, the facts they gave, what was asked and answered.';
const SYSTEM = 'You write short, factual summaries of conversations.';
/** A single turn's text in the summary prompt: a long paste is cut, not the whole fold. */
const MAX_TURN_CHARS = 2_000;

export interface CompactorOptions {
  engine: Engine;
  memory: Memory;
  log: Logger;
  /** Most tokens of a running summary (HEARTH_SUMMARY_TOKENS); a quarter of the history budget at most. */
  summaryTokens: number;
  /** Memory's window of turns (HEARTH_HISTORY_TURNS): a fold comes before the window would drop a turn. */
  windowTurns: number;
}

/** The turns after the one the summary ends with: what the model gets as they are. */
export function afterSummary<T extends Pick<Turn, 'messageId'>>(turns: readonly T[], through: string | undefined): T[] {
  const at = through === undefined ? -1 : turns.findIndex((turn) => turn.messageId === through);
  // Not found: the summarized turns are all older than the window.
  return turns.slice(at + 1);
}

/**
 * How many of the oldest `live` turns to fold into the summary (0: none yet). Folding starts
 * when the summary and turns pass `budget` tokens or the window is nearly full, and takes whole
 * exchanges from the oldest until the rest fits `target` tokens and half the window; the newest
 * exchange always stays.
 */
export function foldCount(live: readonly Pick<Turn, 'role'>[], costs: readonly number[], limits: { budget: number; target: number; summary: number; window: number }): number {
  const rest = costs.reduce((sum, cost) => sum + cost, 0);
  if (limits.summary + rest <= limits.budget && live.length <= limits.window - 2) return 0;
  const newest = live.findLastIndex((turn) => turn.role === 'user');
  let kept = rest;
  let fold = 0;
  while (fold < newest && (kept > limits.target || live.length - fold > limits.window / 2)) {
    let end = fold + 1;
    while (end < newest && live[end]?.role !== 'user') end++;
    for (let i = fold; i < end; i++) kept -= costs[i] ?? 0;
    fold = end;
  }
  return fold;
}

/**
 * Compaction by summary: when a conversation nears its history budget, the turns the next
 * context would drop are summarized by the model itself (a bounded prompt on the same engine)
 * into the conversation's running summary (memory: the session in L2/L3 and a copy in L3), which
 * the engine puts at the start of the context. It runs after a reply is sent, one at a time
 * (one borrowed sequence at most); the conversation's next turn waits for it (`settled`).
 */
export class Compactor {
  private readonly pending = new Map<string, Promise<void>>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: CompactorOptions) {}

  /** Resolves when the conversation's compaction in progress, if any, is done. */
  settled(conversationId: string): Promise<void> {
    return this.pending.get(conversationId) ?? Promise.resolve();
  }

  /** Resolves when no compaction is running or queued (before the engine is disposed). */
  async idle(): Promise<void> {
    await this.chain;
  }

  /** Compacts the conversation in the background if it needs it; a failure leaves trimming to the engine. */
  schedule(conversationId: string): void {
    if (this.pending.has(conversationId) || !this.options.engine.historyTokens || !this.options.engine.summarize) return;
    const run = this.chain
      .then(() => this.compact(conversationId))
      .then(
        () => undefined,
        (error: unknown) => this.options.log.warn({ conversationId, err: error instanceof Error ? error.message : String(error) }, 'compaction failed: older turns are trimmed instead'),
      )
      .finally(() => this.pending.delete(conversationId));
    this.chain = run;
    this.pending.set(conversationId, run);
  }

  /** Folds what the next turn would drop into the summary; returns how many turns it folded. */
  async compact(conversationId: string): Promise<number> {
    const { engine, memory, log } = this.options;
    const budget = engine.historyTokens?.() ?? 0;
    if (budget <= 0) return 0;
    const { generation, session, turns } = await memory.recall(conversationId);
    const live = afterSummary(turns, session.summaryThrough);
    const count = (text: string) => engine.countTokens(text);
    const summaryMax = Math.max(1, Math.min(this.options.summaryTokens, Math.floor(budget / 4)));
    const limits = { budget, target: budget * COMPACTION.keep - summaryMax, summary: session.summary ? count(session.summary) : 0, window: this.options.windowTurns };
    const fold = foldCount(live, live.map((turn) => count(turn.text)), limits);
    if (fold === 0) return 0;
    const folded = live.slice(0, fold);
    // Its context is rebuilt with the new summary anyway; its sequence serves the summary now.
    await engine.reset(conversationId);
    const prompt = summaryPrompt(session.summary, folded, (text) => count(text) <= budget);
    const text = ((await engine.summarize?.(prompt, { systemPrompt: SYSTEM, maxTokens: summaryMax })) ?? '').trim();
    // Nothing written: the turns stay as they are (the engine's trimming is the fallback).
    if (text === '') return 0;
    const through = folded.at(-1)?.messageId ?? '';
    const stored = await memory.updateSummary(conversationId, generation, { text: text.slice(0, 16_384), through });
    log.debug({ conversationId, folded: fold, kept: live.length - fold, summaryTokens: count(text), stored }, 'conversation compacted into its summary');
    return stored ? fold : 0;
  }
}

/** The summary prompt: the old summary and the folded turns, the oldest lines cut until it `fits`. */
function summaryPrompt(previous: string | undefined, folded: readonly Turn[], fits: (prompt: string) => boolean): string {
  const lines = folded.map((turn) => `${turn.role === 'user' ? 'User' : 'Assistant'}: ${turn.text.slice(0, MAX_TURN_CHARS)}`);
  const build = () => [INSTRUCTION, ...(previous ? ['', `Summary so far: ${previous}`] : []), '', 'Conversation:', ...lines, '', 'Summary:'].join('\n');
  let prompt = build();
  while (lines.length > 1 && !fits(prompt)) {
    lines.shift();
    prompt = build();
  }
  return prompt;
}
