import { platformOf } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import type { PlatformAdapter } from './adapter.js';
import { notSetUp, type OutboundReply, type SendOutcome } from './outbound.js';
import { telegramAdapter } from './telegram/adapter.js';
import { whatsappAdapter } from './whatsapp/adapter.js';

/** Every platform the edge speaks, by the name in its webhook path and conversation ids. */
const ADAPTERS: readonly PlatformAdapter[] = [telegramAdapter, whatsappAdapter];

/** The adapter for `/webhooks/:platform`, if there is one and this deployment set it up. */
export function enabledAdapter(name: string, config: EdgeConfig): PlatformAdapter | undefined {
  const adapter = ADAPTERS.find((a) => a.platform === name);
  return adapter?.enabled(config) ? adapter : undefined;
}

/** Shows a typing indicator in the conversation, where its platform has one. */
export async function showTyping(config: EdgeConfig, conversationId: string, messageId: string): Promise<void> {
  const platform = platformOf(conversationId);
  const adapter = platform ? enabledAdapter(platform, config) : undefined;
  await adapter?.typing?.(conversationId, messageId, config);
}

/** Sends a reply with the adapter of its conversation's platform (`telegram:123` → Telegram). */
export function sendReply(config: EdgeConfig, reply: OutboundReply): Promise<SendOutcome> {
  const platform = platformOf(reply.conversationId);
  const adapter = platform ? enabledAdapter(platform, config) : undefined;
  return adapter ? adapter.send(reply, config) : notSetUp(platform ?? `the platform of ${reply.conversationId}`);
}
