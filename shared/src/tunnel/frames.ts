import { z } from 'zod';
import { SenderKeySchema } from '../access/access.js';
import { ConversationSummarySchema, HistoryItemSchema, HistoryQuerySchema } from '../client/history.js';
import { FinishReasonSchema, TOOL_NAME, ToolCallSchema } from '../completion.js';
import { ReplyButtonsSchema } from '../reply-buttons.js';
import { EMBED_MAX_INPUTS } from './embed.js';

/**
 * The tunnel protocol between a core (client) and the Relay (server). Every frame carries the
 * protocol version `v`; `hello` is where an incompatible pair finds out and says which side to
 * upgrade. Bump the version on any change a peer of the previous version would misread.
 */
export const TUNNEL_PROTOCOL_VERSION = 1;

const frame = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.object({ v: z.number().int().positive(), type: z.literal(type), ...shape });

const credits = z.number().int().min(0).max(10_000);

// core → edge ------------------------------------------------------------------------------

const modelId = z.string().min(1).max(256);

/**
 * A model a core answers with, as `GET /v1/models` lists it: `chat` answers completions,
 * `embedding` answers `/v1/embeddings` with vectors of `dimensions`.
 */
export const CoreModelSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('chat'), id: modelId, description: z.string().max(512) }),
  z.object({ kind: z.literal('embedding'), id: modelId, description: z.string().max(512), dimensions: z.number().int().positive().max(65_536) }),
]);
export type CoreModel = z.infer<typeof CoreModelSchema>;

/** First frame on a new tunnel: who the core is and its window (most unacked deliveries it takes). */
export const HelloFrame = frame('hello', {
  core_id: z.string().min(1).max(128),
  credits,
  software: z.string().max(128).optional(),
  /** The model this core answers with, as `GET /v1/models` lists it. */
  model: z.object({ id: z.string().min(1).max(256), description: z.string().max(512) }).optional(),
  /** Every model this core answers with (`model` is its chat model, for edges from before this list). */
  models: z.array(CoreModelSchema).max(16).optional(),
  /** This core answers `history` requests from its disk (owner sessions of the CLI do not). */
  serves_history: z.boolean().optional(),
});

/**
 * The core's window changed: it may now hold at most `credits` unacked deliveries. Absolute,
 * not additive, so a lost or repeated frame cannot make the two sides' counts drift.
 */
export const CreditFrame = frame('credit', { credits });

/** What the model read and wrote for a completion, as OpenAI's `usage` counts it. */
export const TokenUsageSchema = z.object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() });
export type TokenUsage = z.infer<typeof TokenUsageSchema>;

/**
 * The delivery of `message_id` is done, with the reply to send if there is one. One frame,
 * stored in one transaction: a delivery is never acked without its reply kept. `reply.key` is
 * the idempotency key; the Relay sends each key once.
 */
export const AckFrame = frame('ack', {
  message_id: z.string().min(1).max(256),
  reply: z
    .object({
      key: z.string().min(1).max(300),
      /** Empty only beside `tool_calls` (a model that only calls functions says nothing). */
      text: z.string().max(65_536),
      buttons: ReplyButtonsSchema.optional(),
      /** When the core stored the reply in its history (ms): its cursor for API clients. */
      created_at: z.number().int().nonnegative().optional(),
      /** For a completion generated now (not one answered again from its record). */
      usage: TokenUsageSchema.optional(),
      /** A completion's calls of the client's functions: the client runs them. */
      tool_calls: z.array(ToolCallSchema).min(1).max(64).optional(),
      /** A completion's end, as OpenAI's `finish_reason` (absent: `stop`). */
      finish_reason: FinishReasonSchema.optional(),
    })
    .refine((reply) => reply.text.length > 0 || reply.tool_calls !== undefined, { message: 'a reply has text or tool calls', path: ['text'] })
    .optional(),
});

/**
 * The core is still working on `message_id`: the Relay pushes its ack deadline out by another
 * `ack_timeout_ms` (from welcome). Sent periodically while generating.
 */
export const ProgressFrame = frame('progress', { message_id: z.string().min(1).max(256) });

/**
 * Reply text as the model produces it, for `message_id`: `text` is what came since the previous
 * partial (`seq` counts them from 0, so a receiver can tell a gap). It streams to clients that
 * watch the conversation and counts as progress; the ack still carries the whole reply, which
 * is what platforms get.
 */
export const PartialFrame = frame('partial', {
  message_id: z.string().min(1).max(256),
  seq: z.number().int().min(0),
  text: z.string().min(1).max(16_384),
});

/**
 * A message to send to a platform that answers no delivery (a proactive push). `key` is the
 * idempotency key: the Relay sends each once.
 */
export const ReplyFrame = frame('reply', {
  key: z.string().min(1).max(300),
  conversation_id: z.string().min(1).max(256),
  in_reply_to: z.string().min(1).max(256).nullable(),
  text: z.string().min(1).max(65_536),
  buttons: ReplyButtonsSchema.optional(),
  /** When the core stored the push in its history (ms): its cursor for API clients. */
  created_at: z.number().int().nonnegative().optional(),
});

const requestId = z.string().min(1).max(64);

/**
 * The answer to a `history` request: `ok: false` with `error`, or the turns (oldest first) and
 * whether more follow, or the conversations.
 */
export const HistoryResultFrame = frame('history_result', {
  request_id: requestId,
  ok: z.boolean(),
  error: z.string().max(1_000).optional(),
  items: z.array(HistoryItemSchema).optional(),
  has_more: z.boolean().optional(),
  conversations: z.array(ConversationSummarySchema).optional(),
});

/**
 * The answer to an `embed` request: `ok: false` with `error` (`code` `input_too_long` when an
 * input is past what the model reads, the caller's to fix), or one vector per input, in order,
 * each base64 of little-endian float32 (see embed.ts), and the tokens the model read.
 */
export const EmbedResultFrame = frame('embed_result', {
  request_id: requestId,
  ok: z.boolean(),
  error: z.string().max(1_000).optional(),
  code: z.string().max(64).optional(),
  vectors: z.array(z.string().max(350_000)).max(EMBED_MAX_INPUTS).optional(),
  prompt_tokens: z.number().int().nonnegative().optional(),
});

/**
 * An owner's access command (`hearth pair ...`), answered by one `access_result` with the same
 * `request_id`. Only a holder of the core key opens a tunnel, so only the owner gets here.
 */
export const AccessFrame = frame('access', {
  request_id: requestId,
  command: z.discriminatedUnion('action', [
    /** Lets in the sender who was given `code`, and queues the message that asked. */
    z.object({ action: z.literal('approve'), code: z.string().min(1).max(32) }),
    /** Shuts a sender out again (a pairing approval; the static allowlist is configuration). */
    z.object({ action: z.literal('revoke'), sender: SenderKeySchema }),
    /** Codes waiting for approval and senders let in by pairing. */
    z.object({ action: z.literal('list') }),
    /** The Relay's state and counters, for `hearth status`. */
    z.object({ action: z.literal('status') }),
    /** Refuses a client token from now on (`hearth token revoke`); kept until it would expire anyway. */
    z.object({ action: z.literal('revoke_token'), jti: z.string().min(1).max(128), expires_at: z.number().int() }),
  ]),
});

// edge → core ------------------------------------------------------------------------------

/**
 * The Relay accepted the tunnel. `heartbeat_ms` is how often it expects a ping (a core silent
 * for longer than `silence_ms` is dropped); a delivery not acked or progressed within
 * `ack_timeout_ms` is given to another core.
 */
export const WelcomeFrame = frame('welcome', {
  session_id: z.string(),
  heartbeat_ms: z.number().int().positive(),
  silence_ms: z.number().int().positive(),
  ack_timeout_ms: z.number().int().positive(),
});

/**
 * One queued message for the core. `sealed` is the message as compact JWE, encrypted to the
 * core's public key at enqueue time: the Relay routes by the plaintext ids beside it and
 * cannot read the body it stores.
 */
export const DeliverFrame = frame('deliver', {
  message_id: z.string().min(1).max(256),
  conversation_id: z.string().min(1).max(256),
  attempt: z.number().int().positive(),
  sealed: z.string().min(1),
  /**
   * A press answering a question the core is waiting on (an approval's Run/Skip): delivered
   * while the conversation's turn is still in flight, outside the window; the core handles it at
   * once, not behind its job queue. A core that ignores the field handles it in turn (too late).
   */
  press: z.literal(true).optional(),
});

const PendingPairing = z.object({
  code: z.string(),
  sender: z.string(),
  name: z.string().optional(),
  expires_at: z.number().int(),
});
const ApprovedSender = z.object({ sender: z.string(), name: z.string().optional(), approved_at: z.number().int() });

const count = z.number().int().min(0);

/**
 * Pairing codes the Relay turned away, per reason, since it first counted one: `source_pending`
 * (refused: the chat already had a code waiting), `evicted` (the oldest code, dropped for a
 * newer one while HEARTH_PAIRING_MAX_PENDING were waiting). A string, so a reason a newer edge
 * adds still parses.
 */
const PairingRefusals = z.object({ reason: z.string().max(64), count, since: z.number().int(), last_at: z.number().int() });

/** What the Relay holds and has done, for `hearth status` (counters since `since`, when the object last woke). */
export const EdgeStatusSchema = z.object({
  pending: count,
  in_flight: count,
  dead_letters: count,
  outbox_unsent: count,
  pairing_pending: count,
  cores: z.array(z.object({ core_id: z.string(), window: count, in_flight: count })),
  since: z.number().int(),
  counters: z.record(z.string(), count),
});
export type EdgeStatus = z.infer<typeof EdgeStatusSchema>;

/** The answer to an `access` frame: `ok: false` with `error`, or what the command did. */
export const AccessResultFrame = frame('access_result', {
  request_id: requestId,
  ok: z.boolean(),
  error: z.string().optional(),
  /** approve: who was let in, and whether their waiting message went into the queue. */
  approved: z.object({ sender: z.string(), name: z.string().optional(), released: z.boolean() }).optional(),
  /** revoke: whether the sender had been approved. */
  revoked: z.boolean().optional(),
  /** list */
  pending: z.array(PendingPairing).optional(),
  senders: z.array(ApprovedSender).optional(),
  refusals: z.array(PairingRefusals).max(32).optional(),
  /** status */
  status: EdgeStatusSchema.optional(),
  /** revoke_token: whether the token was not revoked already. */
  token_revoked: z.boolean().optional(),
});

/**
 * A client asks for a user's history (`GET /v1/conversations...`, catch-up of the live stream):
 * the edge keeps none, so a core answers from its disk with one `history_result`.
 */
export const HistoryFrame = frame('history', {
  request_id: requestId,
  user: z.string().min(1).max(64),
  query: HistoryQuerySchema,
});

/**
 * A client asks for embeddings of `input` with `model` (`POST /v1/embeddings`): computed at
 * home, answered by one `embed_result`. Sent only to a core whose hello lists the model.
 */
export const EmbedFrame = frame('embed', {
  request_id: requestId,
  model: modelId,
  input: z.array(z.string().min(1)).min(1).max(EMBED_MAX_INPUTS),
});

/**
 * The sender asked to stop (`/stop`) while the core is generating `message_id`: stop, and ack
 * with what was produced so far. The `/stop` message itself follows as an ordinary delivery.
 */
export const CancelFrame = frame('cancel', { message_id: z.string().min(1).max(256) });

/**
 * The Relay has a `reply` frame (a proactive push) stored under `key`, or had it already: the
 * core may forget it. Until then it sends it again on reconnect, and the Relay sends each key once.
 */
export const ReplyStoredFrame = frame('reply_stored', { key: z.string().min(1).max(300) });

/** The Relay refuses something; `fatal` frames are followed by a close. */
export const ErrorFrame = frame('error', {
  code: z.string(),
  message: z.string(),
  fatal: z.boolean(),
});

// note search (MCP `search_notes`) -----------------------------------------------------------

/** Most hits one `note_search` asks for. */
export const NOTE_SEARCH_MAX_HITS = 20;

/** One note a search found: where it is (`file#chunk`), its text (cut to a snippet) and its cosine score. */
export const NoteHitSchema = z.object({ ref: z.string().max(600), text: z.string().max(4_000), score: z.number() });
export type NoteHit = z.infer<typeof NoteHitSchema>;

/** The answer to a `note_search`: `ok: false` with `error`, or the hits, best first. */
export const NoteSearchResultFrame = frame('note_search_result', {
  request_id: requestId,
  ok: z.boolean(),
  error: z.string().max(1_000).optional(),
  hits: z.array(NoteHitSchema).max(NOTE_SEARCH_MAX_HITS).optional(),
});

/**
 * An MCP client searches a user's notes (`search_notes`): recall is at home, so a core answers
 * with one `note_search_result`, from the user's notes and the shared ones.
 */
export const NoteSearchFrame = frame('note_search', {
  request_id: requestId,
  user: z.string().min(1).max(64),
  query: z.string().min(1).max(4_000),
  limit: z.number().int().min(1).max(NOTE_SEARCH_MAX_HITS),
});

// the owner's tools over /mcp --------------------------------------------------------------

/** Characters of an owner tool's answer carried back to the MCP client. */
export const OWNER_TOOL_MAX_TEXT = 65_536;

/** A tool of a core's plugins or MCP servers that its owner exposes to /mcp clients (HEARTH_MCP_EXPOSE). */
export const OwnerToolSchema = z.object({
  name: z.string().regex(TOOL_NAME),
  description: z.string().max(1_000),
  /** JSON Schema of its arguments (an object schema). */
  input_schema: z.record(z.string(), z.unknown()),
});
export type OwnerTool = z.infer<typeof OwnerToolSchema>;

/** An MCP client lists tools: a core answers with the ones its owner exposes, in one `owner_tool_result`. */
export const OwnerToolsFrame = frame('owner_tools', { request_id: requestId, user: z.string().min(1).max(64) });

/** An MCP client calls an exposed tool: the core runs it (never one that needs the owner's approval). */
export const OwnerToolCallFrame = frame('owner_tool_call', {
  request_id: requestId,
  user: z.string().min(1).max(64),
  name: z.string().regex(TOOL_NAME),
  arguments: z.record(z.string(), z.unknown()),
});

/** The answer to `owner_tools` (`tools`) or `owner_tool_call` (`text`, `is_error` when the tool said it failed); `ok: false` with `error`. */
export const OwnerToolResultFrame = frame('owner_tool_result', {
  request_id: requestId,
  ok: z.boolean(),
  error: z.string().max(1_000).optional(),
  tools: z.array(OwnerToolSchema).max(256).optional(),
  text: z.string().max(OWNER_TOOL_MAX_TEXT).optional(),
  is_error: z.boolean().optional(),
});

// both ways --------------------------------------------------------------------------------

export const PingFrame = frame('ping', {});
export const PongFrame = frame('pong', {});

export const CoreFrame = z.discriminatedUnion('type', [
  HelloFrame,
  CreditFrame,
  AckFrame,
  ProgressFrame,
  PartialFrame,
  ReplyFrame,
  AccessFrame,
  HistoryResultFrame,
  EmbedResultFrame,
  NoteSearchResultFrame,
  OwnerToolResultFrame,
  PingFrame,
  PongFrame,
]);
export const EdgeFrame = z.discriminatedUnion('type', [
  WelcomeFrame,
  DeliverFrame,
  CancelFrame,
  ErrorFrame,
  AccessResultFrame,
  HistoryFrame,
  EmbedFrame,
  NoteSearchFrame,
  OwnerToolsFrame,
  OwnerToolCallFrame,
  ReplyStoredFrame,
  PingFrame,
  PongFrame,
]);

export type CoreFrame = z.infer<typeof CoreFrame>;
export type EdgeFrame = z.infer<typeof EdgeFrame>;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** A frame as callers write it: `encodeFrame` stamps the version. */
export type CoreFrameBody = DistributiveOmit<CoreFrame, 'v'>;
export type EdgeFrameBody = DistributiveOmit<EdgeFrame, 'v'>;
export type HelloFrame = z.infer<typeof HelloFrame>;
export type AckFrame = z.infer<typeof AckFrame>;
export type ReplyFrame = z.infer<typeof ReplyFrame>;
export type DeliverFrame = z.infer<typeof DeliverFrame>;
export type CancelFrame = z.infer<typeof CancelFrame>;
export type ReplyStoredFrame = z.infer<typeof ReplyStoredFrame>;
export type AccessCommand = z.infer<typeof AccessFrame>['command'];
export type AccessResultFrame = z.infer<typeof AccessResultFrame>;
export type HistoryFrame = z.infer<typeof HistoryFrame>;
export type HistoryResultFrame = z.infer<typeof HistoryResultFrame>;
export type EmbedFrame = z.infer<typeof EmbedFrame>;
export type EmbedResultFrame = z.infer<typeof EmbedResultFrame>;
export type NoteSearchFrame = z.infer<typeof NoteSearchFrame>;
export type OwnerToolsFrame = z.infer<typeof OwnerToolsFrame>;
export type OwnerToolCallFrame = z.infer<typeof OwnerToolCallFrame>;
export type OwnerToolResultFrame = z.infer<typeof OwnerToolResultFrame>;
export type NoteSearchResultFrame = z.infer<typeof NoteSearchResultFrame>;

/**
 * The heartbeat, byte for byte. The Relay answers it with a WebSocket auto-response so a
 * hibernated Durable Object is not woken for every ping; that needs an exact string match.
 */
export const PING = JSON.stringify({ v: TUNNEL_PROTOCOL_VERSION, type: 'ping' });
export const PONG = JSON.stringify({ v: TUNNEL_PROTOCOL_VERSION, type: 'pong' });

/** WebSocket close codes of the tunnel (4000-4999 is the application range). */
export const TunnelCloseCode = {
  /** Edge and core speak different protocol versions; reconnecting will not help until one upgrades. */
  ProtocolMismatch: 4001,
  /** The core broke the protocol (no hello first, a hello for another core id). */
  ProtocolViolation: 4002,
  /** The peer sent nothing, not even a heartbeat, for longer than the silence limit. */
  Silent: 4003,
} as const;
