/**
 * What a platform sender reports. `retryable` separates "try again later" (429, 5xx, network)
 * from "this will never go through" (400 chat not found, 403 bot blocked), so the outbox
 * neither gives up on a passing fault nor hammers a permanent one.
 */
export type SendOutcome =
  | { ok: true }
  | { ok: false; retryable: boolean; status: number; description: string; retryAfterMs?: number };

/** A reply ready to leave the edge: where to, what, and which message it answers. */
export interface OutboundReply {
  conversationId: string;
  inReplyTo: string | null;
  text: string;
}
