import type { ChatHistoryItem } from 'node-llama-cpp';

/** Tokens a piece of history text takes with this model's tokenizer. */
export type TokenCounter = (text: string) => number;

/**
 * When a conversation's evaluated tokens pass `trimAt` of the context, its history is cut back
 * to `keep` of it. The gap between the two is hysteresis: trimming forces the next prompt to
 * re-evaluate what is kept, so it should happen once in a while, not every turn. And trimming
 * before the context is full matters: node-llama-cpp's own context shift at overflow is slow
 * (turns measured here went from ~1 s to ~24 s on stories260K).
 */
export const HISTORY_BUDGET = { trimAt: 0.75, keep: 0.4 } as const;

/** The text an item puts in the context (a completion's calls as JSON). */
export const itemText = (item: ChatHistoryItem): string => {
  if (item.type === 'user') return item.text;
  if (item.type === 'system') return typeof item.text === 'string' ? item.text : JSON.stringify(item.text);
  // A completion's function calls take their name, arguments and result in the context.
  return item.response.map((part) => (typeof part === 'string' ? part : part.type === 'functionCall' ? JSON.stringify([part.name, part.params, part.result]) : '')).join('');
};

/**
 * The most recent history that fits `budget` tokens: the system prompt(s) at the start are
 * always kept, then whole exchanges from the newest back, so the model never sees a reply
 * without the message it answered. At least the newest exchange is kept, even over budget.
 */
export function trimHistory(history: readonly ChatHistoryItem[], budget: number, count: TokenCounter): ChatHistoryItem[] {
  const firstTurn = history.findIndex((item) => item.type !== 'system');
  if (firstTurn === -1) return [...history];
  const system = history.slice(0, firstTurn);
  const turns = history.slice(firstTurn);
  let used = system.reduce((sum, item) => sum + count(itemText(item)), 0);
  let start = turns.length;
  // Walk back over exchanges (a user message and what follows it).
  for (let i = turns.length - 1; i >= 0; i--) {
    if (turns[i]?.type !== 'user') continue;
    const exchange = turns.slice(i, start);
    const cost = exchange.reduce((sum, item) => sum + count(itemText(item)), 0);
    if (start < turns.length && used + cost > budget) break;
    used += cost;
    start = i;
  }
  return [...system, ...turns.slice(start)];
}
