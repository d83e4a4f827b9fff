import type { Message, Platform } from '@hearth/shared';
import type { EdgeConfig } from '../config.js';
import type { OutboundPart, OutboundReply, Pacing, ReplyCredential, SendOutcome } from './outbound.js';

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
  /**
   * The body to answer with instead of the usual counts, once the messages are stored: a
   * platform's handshake that comes as a POST (Slack's `url_verification` challenge), or the
   * answer a platform waits for (Discord's interaction responses).
   */
  answer?: Record<string, unknown>;
  /** By message id, what its reply must be sent with (Discord's interaction token), sealed by the adapter. */
  credentials?: Record<string, ReplyCredential>;
}

/**
 * One platform at the edge: verify → parse → normalize in, send out. Adding a platform is one
 * more folder with one of these, registered in `platforms/registry.ts`.
 */
export interface PlatformAdapter {
  readonly platform: Platform;
  /**
   * Its replies need the reply context stored with the message they answer (e-mail: where to and
   * under which subject), handed to `sendPart` as `reply.context`.
   */
  readonly usesReplyContext?: boolean;
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
  parse(rawBody: string, config: EdgeConfig): InboundBatch | Promise<InboundBatch>;
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
  /**
   * The messages a reply goes out as, in order: its text cut to the platform's limits. Must be
   * the same for the same reply every time: the outbox resumes a long reply by part index.
   */
  parts(reply: OutboundReply): string[];
  /**
   * Sends one part of a reply. The first part threads under the message answered; the last
   * carries the reply's buttons. The outbox calls it part by part, paced and retried.
   */
  sendPart(reply: OutboundReply, part: OutboundPart, config: EdgeConfig): Promise<SendOutcome>;
  /** The platform's rate limits for sends into this conversation. */
  pacing(conversationId: string, config: EdgeConfig): Pacing;
}
