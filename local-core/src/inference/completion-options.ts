import { type CompletionRequest, endsWithToolResults } from '@hearth/shared';
import type { HistoryTurn, ReplyOptions } from './engine.js';

/**
 * The request's turns as the engine reads them: `system` turns left out (they are the system
 * prompt), each tool result joined to the call it answers on the assistant turn that made it.
 */
function turnsOf(completion: CompletionRequest, modelText: (text: string) => string): HistoryTurn[] {
  const results = new Map<string, string>();
  for (const turn of completion.history) if (turn.role === 'tool') results.set(turn.tool_call_id, modelText(turn.text));
  const turns: HistoryTurn[] = [];
  for (const turn of completion.history) {
    if (turn.role === 'user') turns.push({ role: 'user', text: modelText(turn.text) });
    if (turn.role !== 'assistant') continue;
    // The edge refuses a result that answers no call; a call with no result yet gets an empty one.
    const calls = turn.tool_calls?.map((call) => ({ name: call.name, arguments: call.arguments, result: results.get(call.id) ?? '' }));
    turns.push({ role: 'assistant', text: modelText(turn.text), ...(calls ? { calls } : {}) });
  }
  return turns;
}

/**
 * What the engine gets for an OpenAI-style completion: the request's own turns as the whole
 * history (never memory's), its `system` turns as the system prompt, its sampling settings,
 * its client functions and reply format, and `ephemeral`, so the engine keeps nothing of it.
 * `modelText` is applied to every text the model reads (redaction, when configured). Without
 * `system` turns the core's own prompt stays.
 *
 * @example
 * const options = completionOptions(message.completion, (text) => text);
 * await engine.reply(message, { ...options, signal });
 */
export function completionOptions(completion: CompletionRequest, modelText: (text: string) => string): ReplyOptions {
  const system = completion.history.filter((turn) => turn.role === 'system').map((turn) => modelText(turn.text));
  const { tools, tool_choice: choice = 'auto' } = completion;
  return {
    ephemeral: true,
    // Generation 0 of a conversation no one else writes to: nothing to reconcile.
    history: { generation: 0, turns: turnsOf(completion, modelText) },
    ...(system.length > 0 ? { systemPrompt: system.join('\n\n') } : {}),
    ...(completion.max_tokens !== undefined ? { maxTokens: completion.max_tokens } : {}),
    ...(completion.temperature !== undefined ? { temperature: completion.temperature } : {}),
    ...(completion.top_p !== undefined ? { topP: completion.top_p } : {}),
    ...(tools?.length && choice !== 'none' ? { clientTools: { tools, choice, parallel: completion.parallel_tool_calls !== false } } : {}),
    ...(completion.response_format ? { responseFormat: completion.response_format } : {}),
    ...(endsWithToolResults(completion) ? { continueTurn: true } : {}),
  };
}
