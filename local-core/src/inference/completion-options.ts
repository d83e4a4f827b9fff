import type { CompletionRequest } from '@hearth/shared';
import type { ReplyOptions } from './engine.js';

type Said = CompletionRequest['history'][number];
type Turn = Said & { role: 'user' | 'assistant' };

/**
 * What the engine gets for an OpenAI-style completion: the request's own turns as the whole
 * history (never memory's), its `system` turns as the system prompt, its sampling settings,
 * and `ephemeral`, so the engine keeps nothing of it. `modelText` is applied to every text the
 * model reads (redaction, when configured). Without `system` turns the core's own prompt stays.
 *
 * @example
 * const options = completionOptions(message.completion, (text) => text);
 * await engine.reply(message, { ...options, signal });
 */
export function completionOptions(completion: CompletionRequest, modelText: (text: string) => string): ReplyOptions {
  const system = completion.history.filter((turn) => turn.role === 'system').map((turn) => modelText(turn.text));
  const turns = completion.history
    .filter((turn): turn is Turn => turn.role !== 'system')
    .map((turn) => ({ role: turn.role, text: modelText(turn.text) }));
  return {
    ephemeral: true,
    // Generation 0 of a conversation no one else writes to: nothing to reconcile.
    history: { generation: 0, turns },
    ...(system.length > 0 ? { systemPrompt: system.join('\n\n') } : {}),
    ...(completion.max_tokens !== undefined ? { maxTokens: completion.max_tokens } : {}),
    ...(completion.temperature !== undefined ? { temperature: completion.temperature } : {}),
    ...(completion.top_p !== undefined ? { topP: completion.top_p } : {}),
  };
}
