import type { Message } from '@hearth/shared';
import { z } from 'zod';
import type { TurnTool } from '../inference/engine.js';
import { MAX_ITEM_CHARS, type MemoryItemStore } from './memory-items.js';

const RememberArgs = z.strictObject({ fact: z.string().min(1).max(MAX_ITEM_CHARS) });
const ForgetArgs = z.strictObject({ what: z.string().min(1).max(MAX_ITEM_CHARS) });

/** The names the built-in memory tools take: a plugin or MCP tool of the same name is not offered beside them. */
export const MEMORY_TOOL_NAMES: ReadonlySet<string> = new Set(['remember', 'forget']);

const problem = (error: z.ZodError) => ({ error: error.issues.map((issue) => `${issue.path.join('.') || 'arguments'}: ${issue.message}`).join('; ') });

/**
 * `remember` and `forget` for one turn, bound to its sender's scope and message: the model can
 * keep or drop facts about the person it is talking to, never about anyone else.
 */
export function memoryTools(items: MemoryItemStore, message: Message, scope: string): TurnTool[] {
  return [
    {
      name: 'remember',
      // Short words: the descriptions are in every turn's prompt.
      description: 'Keep a lasting fact the user tells about themselves (e.g. "is vegetarian") for later conversations.',
      parameters: { type: 'object', properties: { fact: { type: 'string' } }, required: ['fact'] },
      call: async (args) => {
        const parsed = RememberArgs.safeParse(args);
        if (!parsed.success) return problem(parsed.error);
        try {
          const { item, added } = items.add({ scope, text: parsed.data.fact, source: 'tool', messageId: message.message_id });
          return { id: item.id, remembered: item.text, ...(added ? {} : { note: 'already remembered' }) };
        } catch (error) {
          return { error: error instanceof Error ? error.message : String(error) };
        }
      },
    },
    {
      name: 'forget',
      description: 'Forget a kept fact about the user (its id or text), when they ask or it is no longer true.',
      parameters: { type: 'object', properties: { what: { type: 'string' } }, required: ['what'] },
      call: async (args) => {
        const parsed = ForgetArgs.safeParse(args);
        if (!parsed.success) return problem(parsed.error);
        const gone = items.forget(scope, parsed.data.what);
        return gone.length > 0 ? { forgotten: gone.map((item) => item.text) } : { error: 'no such fact is kept (give its id or its exact text)' };
      },
    },
  ];
}
