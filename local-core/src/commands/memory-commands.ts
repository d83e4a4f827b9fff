import type { Message } from '@hearth/shared';
import type { MemoryItemStore } from '../memory/memory-items.js';

/** What `/remember` and `/forget` act on: the items table; the scope is the message's sender. */
export interface CommandMemory {
  items: MemoryItemStore;
  scopeOf(message: Message): string;
}

const OFF = 'I keep no memories on this core (HEARTH_MEMORY_ITEMS=off).';

/** `/remember FACT` keeps a fact about the sender; `/remember` alone lists theirs, with ids. */
export function rememberCommand(args: string, message: Message, memory: CommandMemory | undefined): string {
  if (!memory) return OFF;
  const scope = memory.scopeOf(message);
  if (args.trim() === '') {
    const items = memory.items.list(scope);
    if (items.length === 0) return 'I remember nothing about you yet. Tell me with /remember FACT.';
    return ['What I remember about you:', ...items.map((item) => `#${item.id} ${item.text}`), 'Forget one with /forget ID.'].join('\n');
  }
  try {
    const { item, added } = memory.items.add({ scope, text: args, source: 'command', messageId: message.message_id });
    return added ? `Remembered (#${item.id}): ${item.text}` : `I already remember that (#${item.id}).`;
  } catch (error) {
    return error instanceof RangeError ? `Not remembered: ${error.message}.` : 'Not remembered: memory could not be written.';
  }
}

/** `/forget ID` or `/forget TEXT`: drops the sender's own fact, never another sender's. */
export function forgetCommand(args: string, message: Message, memory: CommandMemory | undefined): string {
  if (!memory) return OFF;
  if (args.trim() === '') return 'Say what to forget: /forget ID or /forget TEXT (/remember lists what I remember).';
  const gone = memory.items.forget(memory.scopeOf(message), args);
  if (gone.length === 0) return 'I remember nothing like that about you (/remember lists what I do).';
  return `Forgotten: ${gone.map((item) => item.text).join('; ')}`;
}
