import type { Message } from '@hearth/shared';

/**
 * When a user turn was sent (ms): what the edge stamped where it did (API messages), so two
 * messages of one second keep their order; else the platform's seconds. Every core computes
 * the same value from the same message, so every core's history orders (and cursors) alike.
 */
export const userCreatedAt = (message: Message): number => message.timestamp_ms ?? message.timestamp * 1000;

/**
 * When the reply to `message` is stored (ms): now, but always after the message it answers, so
 * history ordered by created_at never puts a reply before its question, whatever the clocks say.
 */
export const replyCreatedAt = (message: Message, now = Date.now()): number => Math.max(now, userCreatedAt(message) + 1);
