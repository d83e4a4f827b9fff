import type { Message, Platform } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import type { OutboundReply, SendOutcome } from './outbound.js';

/** Something a platform told us that is not a message (a delivery receipt): logged, never queued. */
export interface PlatformEvent {
  type: string;
  /** The platform's id of what the event is about. */
  subject: string;
  detail?: string;
}

/** What one webhook POST carried, after verification and parsing. */
export interface InboundBatch {
  /** Messages to queue (each stored once: ids are deterministic). */
  messages: Message[];
  /** Updates received but deliberately not queued, with the reason (answered 200 all the same). */
  ignored: string[];
  events: PlatformEvent[];
}

/**
 * One platform at the edge: verify → parse → normalize in, send out. Adding a platform is one
 * more folder with one of these, registered in `platforms/registry.ts`.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  /** Whether the deployment set this platform up (its secrets are present). */
  enabled(config: EdgeConfig): boolean;
  /**
   * Checks the request is the platform's, against the raw bytes, before any JSON parsing.
   * @throws HTTPException 401
   */
  verify(request: Request, rawBody: ArrayBuffer, config: EdgeConfig): Promise<void>;
  /**
   * Parses a verified body into messages.
   * @throws HTTPException 400 when it is not the platform's shape
   */
  parse(rawBody: string, config: EdgeConfig): InboundBatch;
  /** The platform's GET handshake when it has one (WhatsApp's `hub.challenge`). */
  handshake?(query: URLSearchParams, config: EdgeConfig): Response;
  /**
   * Tells the platform a message was received, once it is committed (Telegram's
   * `answerCallbackQuery` stops a pressed button's spinner). Best effort: never fails the webhook.
   */
  afterStored?(message: Message, config: EdgeConfig): Promise<void>;
  /**
   * Shows the user the assistant is working on `messageId` (a typing indicator). Called while
   * the core reports progress, at most every few seconds per conversation. Best effort.
   */
  typing?(conversationId: string, messageId: string, config: EdgeConfig): Promise<void>;
  /** Sends a reply into a conversation of this platform. */
  send(reply: OutboundReply, config: EdgeConfig): Promise<SendOutcome>;
}
