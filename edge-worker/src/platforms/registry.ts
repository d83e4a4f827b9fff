import { platformOf } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import type { PlatformAdapter } from './adapter.js';
import { discordAdapter } from './discord/adapter.js';
import type { OutboundReply, SendOutcome } from './outbound.js';
import { emailAdapter } from './email/adapter.js';
import { slackAdapter } from './slack/adapter.js';
import { telegramAdapter } from './telegram/adapter.js';
import { whatsappAdapter } from './whatsapp/adapter.js';

/** Every platform the edge speaks, by the name in its webhook path and conversation ids. */
const ADAPTERS: readonly PlatformAdapter[] = [telegramAdapter, whatsappAdapter, slackAdapter, discordAdapter, emailAdapter];

/** The adapter for `/webhooks/:platform`, if there is one and this deployment set it up. */
export function enabledAdapter(name: string, config: EdgeConfig): PlatformAdapter | undefined {
  const adapter = ADAPTERS.find((a) => a.platform === name);
  return adapter?.enabled(config) ? adapter : undefined;
}

/** The adapter of a conversation's platform (`telegram:123` → Telegram), if it is set up here. */
export function adapterOf(config: EdgeConfig, conversationId: string): PlatformAdapter | undefined {
  const platform = platformOf(conversationId);
  return platform ? enabledAdapter(platform, config) : undefined;
}

/** Shows a typing indicator in the conversation, where its platform has one. */
export async function showTyping(config: EdgeConfig, conversationId: string, messageId: string): Promise<void> {
  await adapterOf(config, conversationId)?.typing?.(conversationId, messageId, config);
}

/**
 * Sends every part of a reply at once, unpaced and untracked: for the diagnostic baseline only.
 * Replies to users go through the Relay's outbox, which paces parts and resumes them.
 */
export async function sendAllParts(adapter: PlatformAdapter, reply: OutboundReply, config: EdgeConfig): Promise<SendOutcome> {
  const parts = adapter.parts(reply);
  for (const [index, text] of parts.entries()) {
    const outcome = await adapter.sendPart(reply, { index, count: parts.length, text }, config);
    if (!outcome.ok) return outcome;
  }
  return { ok: true };
}
