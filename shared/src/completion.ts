import { z } from 'zod';

/** OpenAI's function names: what every client and chat template accepts. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A function the client offers the model; the client runs it, never Hearth. */
export const ClientToolSchema = z.object({
  name: z.string().regex(TOOL_NAME, 'function names are 1-64 letters, digits, _ or -'),
  description: z.string().max(4_096).optional(),
  /** The arguments' JSON Schema (an object schema; none: no arguments). */
  parameters: z.record(z.string(), z.unknown()).optional(),
});
export type ClientTool = z.infer<typeof ClientToolSchema>;

/** `auto`: the model decides; `none`: text only; `required`: a call; `{ name }`: a call of that one. */
export const ToolChoiceSchema = z.union([z.enum(['auto', 'none', 'required']), z.object({ name: z.string().regex(TOOL_NAME) })]);
export type ToolChoice = z.infer<typeof ToolChoiceSchema>;

/** A call the model made: `arguments` is JSON text, as OpenAI carries it. */
export const ToolCallSchema = z.object({
  id: z.string().min(1).max(64),
  name: z.string().regex(TOOL_NAME),
  arguments: z.string().max(65_536),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

/** The reply's shape: any JSON object, or JSON matching `schema` (held by a grammar while generating). */
export const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('json_object') }),
  z.object({ type: z.literal('json_schema'), name: z.string().max(64).optional(), schema: z.record(z.string(), z.unknown()) }),
]);
export type ResponseFormat = z.infer<typeof ResponseFormatSchema>;

/** Why generation ended, as OpenAI's `finish_reason` says it. */
export const FinishReasonSchema = z.enum(['stop', 'length', 'tool_calls']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** How a completion ended: why, and the calls of the client's functions it made. */
export const GenerationStopSchema = z.object({ reason: FinishReasonSchema, toolCalls: z.array(ToolCallSchema).optional() });
export type GenerationStop = z.infer<typeof GenerationStopSchema>;

const CompletionTurnSchema = z.discriminatedUnion('role', [
  z.object({ role: z.enum(['system', 'user']), text: z.string().max(65_536) }),
  /** The model's turn: its text, and the calls it made (their results follow as `tool` turns). */
  z.object({ role: z.literal('assistant'), text: z.string().max(65_536), tool_calls: z.array(ToolCallSchema).max(64).optional() }),
  /** What the client's function answered to the call `tool_call_id`. */
  z.object({ role: z.literal('tool'), text: z.string().max(65_536), tool_call_id: z.string().min(1).max(64) }),
]);
export type CompletionTurn = z.infer<typeof CompletionTurnSchema>;

/**
 * An OpenAI-style chat completion carried as a message (`POST /v1/chat/completions`). It is
 * stateless: the conversation comes whole with each request, so the core answers `content.text`
 * (the last user message) after `history` (the earlier turns, oldest first; `system` turns are
 * the system prompt), and keeps nothing of it in memory. When the request ends with tool
 * results instead, `history` holds every turn and the model goes on with its turn after them.
 * It still goes through the Relay's queue, so it gets the same windows, failover and idempotent
 * replies as any message.
 */
export const CompletionRequestSchema = z.object({
  history: z.array(CompletionTurnSchema).max(256),
  /** Most tokens to generate (the core's own limit caps it). */
  max_tokens: z.number().int().positive().max(32_768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().gt(0).max(1).optional(),
  /** The model the client asked for, as `/v1/models` lists it. */
  model: z.string().max(256).optional(),
  tools: z.array(ClientToolSchema).max(128).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  /** false: at most one call per turn (OpenAI's default is true). */
  parallel_tool_calls: z.boolean().optional(),
  response_format: ResponseFormatSchema.optional(),
});
export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;

/** Whether the completion ends with tool results (the model continues its turn) rather than a user message. */
export const endsWithToolResults = (completion: CompletionRequest): boolean => completion.history.at(-1)?.role === 'tool';
