import type { ReplyButtons } from '@hearth/shared';

/**
 * What a platform sender reports. `retryable` separates "try again later" (429, 5xx, network)
 * from "this will never go through" (400 chat not found, 403 bot blocked), so the outbox
 * neither gives up on a passing fault nor hammers a permanent one.
 */
export type SendOutcome =
  | { ok: true }
  | { ok: false; retryable: boolean; status: number; description: string; retryAfterMs?: number };

/** The outcome of sending to a platform this deployment has not set up: permanent. */
export function notSetUp(platform: string): Promise<SendOutcome> {
  return Promise.resolve({ ok: false, retryable: false, status: 0, description: `${platform} is not set up at this edge` });
}

/** A reply ready to leave the edge: where to, what, and which message it answers. */
export interface OutboundReply {
  conversationId: string;
  inReplyTo: string | null;
  text: string;
  /** Buttons under the reply (on its last part), when the core asked for them. */
  buttons?: ReplyButtons;
  /** What the platform kept to answer the message, sealed by the edge (see PlatformAdapter.usesReplyContext). */
  context?: string;
  /** What the message answered came with to answer it by (see {@link ReplyCredential}); `used` once a part went out with it. */
  credential?: ReplyCredential & { used: boolean };
}

/**
 * A platform's short-lived right to answer one message (Discord's interaction token), sealed
 * with an edge-held key by its adapter: the Relay keeps it, unreadable, until `expiresAt` (ms).
 */
export interface ReplyCredential {
  sealed: string;
  expiresAt: number;
}

/** One message of a reply as it goes out: long texts go as several, in order. */
export interface OutboundPart {
  index: number;
  count: number;
  text: string;
}

/** How fast a platform lets a bot send: spacing per conversation and a cap per second overall. */
export interface Pacing {
  intervalMs: number;
  maxPerSecond: number;
}
