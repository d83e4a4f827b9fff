import { createHash } from 'node:crypto';
import type { Logger } from '../logger.js';
import type { PushRequest } from './ipc.js';
import type { QueuedPush } from './outbox.js';
import type { CallContext } from './plugin-process.js';
import type { PluginStateStore } from './state.js';

/**
 * A push a plugin asked for: only to a conversation that has used the plugin (a command or tool
 * call from it), under a key that stays the same however often the push is retried: the
 * plugin's id for it, else a hash of what caused it (the message or schedule run of the call)
 * with the conversation and text. A push outside any call (from a timer) must bring its id.
 *
 * @throws Error the plugin reads (refused, or no way to make a stable key)
 * @example
 * pushFor({ plugin: 'reminders', request: { text: 'hi', conversationId: 'telegram:1', id: 'r-1' }, call: undefined, state, outbox, log });
 * // queued as push:reminders:r-1
 */
export function pushFor(options: {
  plugin: string;
  request: PushRequest;
  call: CallContext | undefined;
  state: PluginStateStore;
  outbox: { push(push: QueuedPush): boolean };
  log: Logger;
}): { key: string; sent: boolean } {
  const { plugin, request, call, state, log } = options;
  const conversationId = request.conversationId;
  if (!conversationId) throw new Error('push needs a conversationId (outside a command or tool call there is no default)');
  if (!state.mayPush(plugin, conversationId)) {
    log.warn({ plugin, conversationId }, 'plugin push refused: that conversation has never used the plugin');
    throw new Error(`push refused: ${conversationId} has never used ${plugin}`);
  }
  let id = request.id;
  if (id === null) {
    if (!call) throw new Error('push outside a call needs an id (e.g. the reminder id), so that a retry is sent once');
    id = createHash('sha256').update(`${call.trigger}\n${conversationId}\n${request.text}`).digest('hex').slice(0, 32);
  }
  const key = `push:${plugin}:${id}`;
  return { key, sent: options.outbox.push({ key, plugin, conversationId, text: request.text }) };
}
