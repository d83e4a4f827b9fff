import { createHmac } from 'node:crypto';
import { redact } from '@hearth/shared';
import type { LearningStore, RatedReply } from './store.js';

/** One training example: the conversation up to a rated reply, the reply, and its label. */
export interface DatasetLine {
  /** OpenAI-style chat fine-tuning messages, the rated reply last. */
  messages: { role: 'user' | 'assistant'; content: string }[];
  /** true: 👍, false: 👎, null: not rated (only with `includeUnrated`). */
  label: boolean | null;
  /** A stable pseudonym of the user who asked (keyed hash: the same user in every export). */
  user: string;
  conversation: string;
  variant: string;
  created_at: string;
}

/** The same example in TRL's conversational unpaired-preference shape (KTO): prompt, completion, label. */
export interface KtoLine {
  prompt: DatasetLine['messages'];
  completion: DatasetLine['messages'];
  label: boolean | null;
  user: string;
  conversation: string;
  variant: string;
  created_at: string;
}

export interface ExportOptions {
  /** Replies created at or after this (ms). */
  since?: number;
  until?: number;
  /** Earlier turns given with each reply (default 12). */
  contextTurns?: number;
  /** Also unrated replies (label null); by default only rated ones. */
  includeUnrated?: boolean;
  shape?: 'messages' | 'kto';
}

interface TurnRow {
  role: 'user' | 'assistant';
  text: string;
  message_id: string;
}

/**
 * A keyed pseudonym (HMAC-SHA256 under a key kept in the core's SQLite and nowhere else): stable
 * across exports, so a user's examples can be grouped or removed, but not reversible by hashing
 * a list of phone numbers, as a plain hash would be.
 */
function pseudonymizer(store: LearningStore): (prefix: string, id: string) => string {
  const key = store.secret('pseudonyms');
  return (prefix, id) => `${prefix}_${createHmac('sha256', key).update(`${prefix}:${id}`).digest('hex').slice(0, 16)}`;
}

/**
 * The rated model replies as training examples, for external LoRA training: each with the
 * turns before it (oldest first) and a label from feedback (a reply's majority rating; a tie
 * is unlabelled). Every text is redacted (cards, e-mails, phones, IBANs, national ids, secrets),
 * ids are pseudonyms and no platform id (user, chat, message) is written; a platform id typed
 * into a message is replaced by its pseudonym too. Completions (never kept in history) are not exported.
 *
 * @example
 * for (const line of exportDataset(store, { since: Date.now() - 7 * 86_400_000 })) out.write(`${JSON.stringify(line)}\n`);
 */
export function* exportDataset(store: LearningStore, options: ExportOptions = {}): Generator<DatasetLine | KtoLine> {
  const pseudonym = pseudonymizer(store);
  const limit = (options.contextTurns ?? 12) + 1;
  // The history's own table (memory/history-store.ts), read only: the user turn and those before it.
  const context = store.database.prepare<[string, string, number], TurnRow>(
    `SELECT role, text, message_id FROM turns
     WHERE conversation_id = ? AND seq <= (SELECT seq FROM turns WHERE message_id = ?) ORDER BY seq DESC LIMIT ?`,
  );
  const answer = store.database.prepare<[string], { text: string }>('SELECT text FROM turns WHERE message_id = ?');
  for (const reply of store.ratedReplies(options.since ?? 0, options.until ?? Number.MAX_SAFE_INTEGER)) {
    if (reply.kind !== 'chat') continue;
    const label = labelOf(reply);
    if (label === null && !options.includeUnrated) continue;
    const replied = answer.get(reply.replyKey);
    const before = context.all(reply.conversationId, reply.messageId, limit).reverse();
    // Reset or forgotten since: nothing left to learn from.
    if (!replied || before.at(-1)?.message_id !== reply.messageId) continue;
    const ids: [string, string][] = [['u', reply.senderId], ['c', reply.conversationId]];
    const clean = (text: string) => scrub(text, ids, pseudonym);
    const messages = [...before.map((t) => ({ role: t.role, content: clean(t.text) })), { role: 'assistant' as const, content: clean(replied.text) }];
    const meta = {
      label,
      user: pseudonym('u', reply.senderId),
      conversation: pseudonym('c', reply.conversationId),
      variant: reply.variant,
      created_at: new Date(reply.createdAt).toISOString(),
    };
    yield options.shape === 'kto' ? { prompt: messages.slice(0, -1), completion: messages.slice(-1), ...meta } : { messages, ...meta };
  }
}

function labelOf(reply: RatedReply): boolean | null {
  if (reply.ups > reply.downs) return true;
  if (reply.downs > reply.ups) return false;
  return null;
}

/** Redacts a text and replaces the platform ids it names (`telegram:42`) with their pseudonyms. */
function scrub(text: string, ids: readonly [string, string][], pseudonym: (prefix: string, id: string) => string): string {
  let out = redact(text).text;
  for (const [prefix, id] of ids) if (out.includes(id)) out = out.split(id).join(pseudonym(prefix, id));
  return out;
}
