import { MessageSchema, signCoreToken, unseal } from '@hearth/shared';
import { z } from 'zod';
import type { CoreConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { readKeySet } from '../keys/key-store.js';

const DeadLettersResponse = z.object({
  dead_letters: z.array(
    z.object({
      message_id: z.string(),
      conversation_id: z.string(),
      attempts: z.number(),
      reason: z.string(),
      enqueued_at: z.number(),
      dead_at: z.number(),
      sealed: z.string(),
    }),
  ),
});

export interface DeadLetterView {
  messageId: string;
  conversationId: string;
  reason: string;
  attempts: number;
  enqueuedAt: string;
  deadAt: string;
  /** Opened here, with the core's key; null when the body is gone or sealed to another key. */
  text: string | null;
}

/**
 * `hearth dead-letters`: asks the edge (with a token this core signs for the admin audience)
 * for the messages the Relay gave up on, and opens their bodies here, where the key is.
 */
export async function fetchDeadLetters(config: CoreConfig, limit: number): Promise<DeadLetterView[]> {
  const keySet = await readKeySet(config.keyFile);
  const token = await signCoreToken(keySet, config.coreId, 'admin');
  const url = `${config.edgeUrl}/admin/dead-letters?limit=${limit}`;
  let response: Response;
  try {
    response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
  } catch (cause) {
    throw new ConfigError(`cannot reach the edge at ${config.edgeUrl} (HEARTH_EDGE_URL)`, { cause });
  }
  if (!response.ok) {
    throw new ConfigError(
      `the edge answered ${response.status} at ${url}` +
        (response.status === 401 ? ': it does not know this core key (HEARTH_CORE_JWKS at the edge)' : ''),
    );
  }
  const { dead_letters } = DeadLettersResponse.parse(await response.json());
  return Promise.all(
    dead_letters.map(async (d) => ({
      messageId: d.message_id,
      conversationId: d.conversation_id,
      reason: d.reason,
      attempts: d.attempts,
      enqueuedAt: new Date(d.enqueued_at).toISOString(),
      deadAt: new Date(d.dead_at).toISOString(),
      text: d.sealed
        ? await unseal(d.sealed, keySet).then(
            (json) => MessageSchema.parse(JSON.parse(json)).content.text,
            () => null,
          )
        : null,
    })),
  );
}

/** One line per dead letter, for people. */
export function formatDeadLetters(letters: DeadLetterView[]): string {
  if (letters.length === 0) return 'no dead letters\n';
  return letters
    .map((d) => {
      const text = d.text === null ? '(unreadable)' : JSON.stringify(d.text.length > 60 ? `${d.text.slice(0, 57)}...` : d.text);
      return `${d.deadAt}  ${d.reason.padEnd(12)} attempts ${String(d.attempts).padStart(2)}  ${d.messageId}  ${text}`;
    })
    .join('\n')
    .concat('\n');
}
