import type { ChatHistoryItem } from 'node-llama-cpp';
import { type TokenCounter, itemText } from './history-budget.js';
import { withRecalled } from './prompt.js';

/** The parts a conversation's prompt is made of, each in tokens of the model's tokenizer. */
export interface PromptParts {
  /** The system prompt (HEARTH_SYSTEM_PROMPT, or the variant's). */
  system: number;
  /** The descriptions of the functions offered this turn (approximate: the chat template words them). */
  tools: number;
  /** The running summary of earlier turns. */
  summary: number;
  /** What recall (and long-term memory) gave with the message. */
  recall: number;
  /** The earlier turns kept in the context as they were. */
  history: number;
  /** The sender's message itself. */
  message: number;
}

export const PROMPT_PARTS = ['system', 'tools', 'summary', 'recall', 'history', 'message'] as const satisfies readonly (keyof PromptParts)[];

/** How the running summary opens its block at the start of the context (a system item). */
export const SUMMARY_HEADING = 'Summary of earlier conversation:';

/** The summary as the context's system item. */
export const summaryItem = (summary: string): ChatHistoryItem => ({ type: 'system', text: `${SUMMARY_HEADING}\n${summary}` });

const isSummary = (item: ChatHistoryItem): boolean => item.type === 'system' && typeof item.text === 'string' && item.text.startsWith(SUMMARY_HEADING);

export interface PromptInput {
  system: string;
  /** The context before this turn: system items (the prompt, the summary) then turns. */
  history: readonly ChatHistoryItem[];
  tools: readonly { name: string; description: string; parameters: unknown }[];
  recalled: readonly string[];
  message: string;
}

/**
 * Counts each part of a turn's prompt. The sum is what the model would read from scratch; a
 * resident conversation reads less (its evaluated tokens are reused: `onPromptTokens`).
 */
export function promptParts(input: PromptInput, count: TokenCounter): PromptParts {
  const sum = (items: readonly ChatHistoryItem[]) => items.reduce((total, item) => total + count(itemText(item)), 0);
  const message = count(input.message);
  return {
    system: count(input.system),
    tools: input.tools.reduce((total, tool) => total + count(`${tool.name}: ${tool.description} ${JSON.stringify(tool.parameters)}`), 0),
    summary: sum(input.history.filter(isSummary)),
    recall: input.recalled.length > 0 ? Math.max(0, count(withRecalled(input.message, input.recalled)) - message) : 0,
    history: sum(input.history.filter((item) => item.type !== 'system')),
    message,
  };
}

export const totalOf = (parts: PromptParts): number => PROMPT_PARTS.reduce((total, part) => total + parts[part], 0);

/** `/context`'s lines: each part and the total. */
export function describeParts(parts: PromptParts): string {
  const names: Record<keyof PromptParts, string> = {
    system: 'system prompt',
    tools: 'tools',
    summary: 'summary of earlier turns',
    recall: 'recalled notes and memory',
    history: 'recent turns',
    message: 'your message',
  };
  return [...PROMPT_PARTS.map((part) => `${names[part]}: ${parts[part]}`), `total: ${totalOf(parts)}`].join('\n');
}
