import { z } from 'zod';
import { ApiConversationSchema } from './client/ids.js';
import type { Message } from './message.js';

/**
 * The owner's approval of a tool call: the core asks with "Run" / "Skip" buttons whose data is
 * `ap:<r|s>:<id>`, `id` a random one per question. A press must reach the core while the turn
 * that asked is still in flight, so the edge recognizes these by their prefix and queues them in a
 * lane of their own (see the Relay's queue), outside the conversation's order.
 */
export type ApprovalDecision = 'run' | 'skip';

const CODE: Record<ApprovalDecision, string> = { run: 'r', skip: 's' };
/** 22 characters of base64url: 16 random bytes. `ap:r:` + 22 is 27 bytes, under Telegram's 64. */
const PRESS = /^ap:([rs]):([A-Za-z0-9_-]{22})$/;

/** The data of an approval button. */
export function approvalButtonData(decision: ApprovalDecision, id: string): string {
  return `ap:${CODE[decision]}:${id}`;
}

/** The decision and question id in a button's data; undefined for any other button. */
export function parseApprovalButton(data: string): { decision: ApprovalDecision; id: string } | undefined {
  const match = PRESS.exec(data);
  if (!match?.[1] || !match[2]) return undefined;
  return { decision: match[1] === 'r' ? 'run' : 'skip', id: match[2] };
}

/** The approval a message carries (a pressed Run/Skip), if it is one. */
export function approvalOf(message: Pick<Message, 'content'>): { decision: ApprovalDecision; id: string } | undefined {
  for (const entity of message.content.entities) {
    if (entity.type !== 'button' || entity.value === undefined) continue;
    const parsed = parseApprovalButton(entity.value);
    if (parsed) return parsed;
  }
  return undefined;
}

/** Whether a message is a press of an approval button: the edge delivers it out of order. */
export const isApprovalPress = (message: Pick<Message, 'content'>): boolean => approvalOf(message) !== undefined;

/**
 * The body of `POST /v1/press`: an API client presses a button it was shown (`buttons` of a
 * message in history or on its stream), in the conversation the message is in.
 */
export const PressRequestSchema = z.object({
  conversation_id: ApiConversationSchema,
  data: z.string().refine((data) => parseApprovalButton(data) !== undefined, 'data is the data of a Run or Skip button (ap:r:... or ap:s:...)'),
  /** The client's id for this press: a retry with it is taken once (or the `Idempotency-Key` header). */
  client_id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'client_id is 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
});
export type PressRequest = z.infer<typeof PressRequestSchema>;
