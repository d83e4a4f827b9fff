import { randomUUID } from 'node:crypto';
import { COMPLETION_CONVERSATION_PREFIX, parseApiConversationId } from '@hearth/shared';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import type { Turn } from './history-store.js';
import { quitRedis, throttledErrorLog } from './redis.js';

/**
 * Whether a conversation's turns are shared with the other cores: API clients' conversations
 * (any core may be asked for their history), never completions (kept nowhere) nor platform
 * chats (their history is only ever read by the core answering them).
 */
function isSharedConversation(conversationId: string): boolean {
  const parsed = parseApiConversationId(conversationId);
  return parsed !== undefined && !parsed.conversation.startsWith(COMPLETION_CONVERSATION_PREFIX);
}

const TurnSchema = z.object({
  messageId: z.string().min(1),
  conversationId: z.string().refine(isSharedConversation, 'not a shared conversation'),
  role: z.enum(['user', 'assistant']),
  senderId: z.string(),
  text: z.string(),
  createdAt: z.number().int().nonnegative(),
  inReplyTo: z.string().nullable(),
  device: z.string().max(64).optional(),
});

const origin = {
  /** The core id, for logs. */
  core: z.string(),
  /** This process: a core skips its own messages even if two share a (misconfigured) core id. */
  instance: z.string(),
};

/** What crosses the channel: turns a core stored, or a conversation it reset (`/reset`). */
const SyncMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('turns'), ...origin, generation: z.number().int().nonnegative(), turns: z.array(TurnSchema).min(1) }),
  z.object({
    kind: z.literal('reset'),
    ...origin,
    conversationId: z.string().refine(isSharedConversation, 'not a shared conversation'),
    generation: z.number().int().positive(),
  }),
]);
type SyncMessage = z.infer<typeof SyncMessageSchema>;
type Unstamped<T> = T extends unknown ? Omit<T, 'core' | 'instance'> : never;

export interface HistorySyncOptions {
  /** A connection for PUBLISH (the memory's own will do). */
  publisher: Redis;
  /** A connection of its own: once subscribed, a connection can do nothing else. */
  subscriber: Redis;
  /** `<HEARTH_REDIS_PREFIX>history`. */
  channel: string;
  coreId: string;
  log: Logger;
  /** Stores turns another core stored (Memory.absorb); never called for this core's own. */
  onTurns: (generation: number, turns: Turn[]) => void;
  /** Another core reset a conversation (Memory.absorbReset): its older turns go here too. */
  onReset: (conversationId: string, generation: number) => void;
}

/**
 * Keeps every core's SQLite history of API conversations alike, so a history request answered
 * by any core gives the same answer. A core publishes each exchange it stores, and each reset,
 * on a Redis pub/sub channel, and applies what the others publish (append is idempotent by
 * message id; a reset only ever moves a conversation's generation forward).
 *
 * Message text crosses Redis only in transit: pub/sub keeps nothing, so Redis never stores it.
 * The price is that a core that is down (or cut off from Redis) misses what is said meanwhile.
 *
 * @example
 * const sync = await HistorySync.start({ publisher, subscriber, channel: 'hearth:history', coreId, log, onTurns });
 * sync.publish(0, [question, reply]);
 * sync.publishReset('api:ada:phone', 1);
 */
export class HistorySync {
  private readonly instance = randomUUID();
  private readonly publishErrors;
  private closed = false;

  private constructor(private readonly options: HistorySyncOptions) {
    this.publishErrors = throttledErrorLog(options.log, `history sync: publishing on ${options.channel}`);
  }

  /** Subscribes first, so nothing published once this resolves is missed. */
  static async start(options: HistorySyncOptions): Promise<HistorySync> {
    const sync = new HistorySync(options);
    options.subscriber.on('message', (channel: string, text: string) => {
      if (channel === options.channel) sync.receive(text);
    });
    await options.subscriber.subscribe(options.channel);
    return sync;
  }

  /** Shares the turns of API conversations among `turns` (others are left out); never throws. */
  publish(generation: number, turns: readonly Turn[]): void {
    const shared = turns.filter((turn) => isSharedConversation(turn.conversationId));
    if (shared.length > 0) this.send({ kind: 'turns', generation, turns: shared });
  }

  /**
   * Shares a reset of an API conversation, so the other cores stop serving its older turns now,
   * not only once they next answer in it. Never throws.
   */
  publishReset(conversationId: string, generation: number): void {
    if (isSharedConversation(conversationId)) this.send({ kind: 'reset', conversationId, generation });
  }

  /** Stops taking turns, then closes the subscribing connection (the publisher is the caller's). */
  async dispose(): Promise<void> {
    this.closed = true;
    await quitRedis(this.options.subscriber);
  }

  private send(body: Unstamped<SyncMessage>): void {
    if (this.closed) return;
    const message = { ...body, core: this.options.coreId, instance: this.instance };
    // Already on this disk; a failed publish costs the other cores a copy, never the reply.
    this.options.publisher.publish(this.options.channel, JSON.stringify(message)).then(
      () => this.publishErrors.recovered(),
      (error: unknown) => this.publishErrors.report(error),
    );
  }

  private receive(text: string): void {
    if (this.closed) return;
    const { log } = this.options;
    let parsed: SyncMessage;
    try {
      parsed = SyncMessageSchema.parse(JSON.parse(text));
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error), channel: this.options.channel }, 'history sync: ignored a message that is not ours');
      return;
    }
    if (parsed.instance === this.instance) return;
    try {
      if (parsed.kind === 'turns') this.options.onTurns(parsed.generation, parsed.turns);
      else this.options.onReset(parsed.conversationId, parsed.generation);
    } catch (error) {
      log.warn({ err: error instanceof Error ? error.message : String(error), from: parsed.core, kind: parsed.kind }, 'history sync: a change of another core not applied');
    }
  }
}
