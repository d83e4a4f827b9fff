import { type CompletionRequest, type CompletionTurn, ResponseFormatSchema, TOOL_NAME } from '@hearth/shared';
import { z } from 'zod';
import { ApiError } from './errors.js';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const Content = z.union([z.string().max(65_536), z.array(TextPart).max(64)], { error: 'content is a string or text parts' });
const FunctionName = z.string().regex(TOOL_NAME, 'function names are 1-64 letters, digits, _ or -');

const ToolCall = z.object({
  id: z.string().min(1).max(64),
  type: z.literal('function', { error: 'tool calls are of type function' }),
  function: z.object({ name: FunctionName, arguments: z.string().max(65_536) }),
});

const Message = z.discriminatedUnion(
  'role',
  [
    z.object({ role: z.enum(['system', 'developer', 'user']), content: Content }),
    z.object({ role: z.literal('assistant'), content: Content.nullish(), tool_calls: z.array(ToolCall).max(64).optional() }),
    z.object({ role: z.literal('tool'), content: Content, tool_call_id: z.string().min(1).max(64) }),
  ],
  { error: 'roles are system, developer, user, assistant and tool (function is the deprecated form of tool)' },
);

const Tool = z.object({
  type: z.literal('function', { error: 'tools are of type function' }),
  function: z.object({
    name: FunctionName,
    description: z.string().max(4_096).optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    /** Accepted: a grammar holds the arguments to the schema whether or not the client asks. */
    strict: z.boolean().nullish(),
  }),
});

const ToolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: FunctionName }) }),
]);

const ResponseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({ name: z.string().max(64), description: z.string().optional(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullish() }),
  }),
]);

/**
 * The OpenAI chat completion request, as far as a local model can honour it. Unknown options
 * (penalties, seeds...) are accepted and ignored, as other OpenAI-compatible servers do; images,
 * audio and n > 1 are refused, since answering without them would mislead. Tools are the
 * client's: their calls go back to it, Hearth never runs them.
 */
export const ChatCompletionSchema = z
  .object({
    model: z.string().min(1).max(256),
    messages: z.array(Message).min(1).max(256),
    stream: z.boolean().optional(),
    max_tokens: z.number().int().positive().max(32_768).nullish(),
    max_completion_tokens: z.number().int().positive().max(32_768).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().gt(0).max(1).nullish(),
    n: z.literal(1, { error: 'n must be 1' }).nullish(),
    /** `include_usage`: a last chunk (no choices) says how many tokens the model read and wrote. */
    stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
    tools: z.array(Tool).max(128).nullish(),
    tool_choice: ToolChoice.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    response_format: ResponseFormat.nullish(),
  })
  .superRefine((body, ctx) => {
    const names = new Set((body.tools ?? []).map((tool) => tool.function.name));
    if (names.size < (body.tools?.length ?? 0)) ctx.addIssue({ code: 'custom', path: ['tools'], message: 'function names must be unique' });
    const choice = body.tool_choice;
    if (choice && choice !== 'auto' && choice !== 'none' && names.size === 0) ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'a required tool choice needs tools' });
    if (typeof choice === 'object' && choice && !names.has(choice.function.name)) {
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: `no tool named ${choice.function.name}` });
    }
    // A tool result answers a call the model made earlier in the same request.
    const calls = new Set<string>();
    body.messages.forEach((message, index) => {
      if (message.role === 'assistant') for (const call of message.tool_calls ?? []) calls.add(call.id);
      if (message.role === 'tool' && !calls.has(message.tool_call_id)) {
        ctx.addIssue({ code: 'custom', path: ['messages', index, 'tool_call_id'], message: 'answers no earlier tool call' });
      }
    });
    const last = body.messages.at(-1)?.role;
    if (last !== 'user' && last !== 'tool') ctx.addIssue({ code: 'custom', path: ['messages'], message: 'the last message must be from the user or a tool' });
  });
export type ChatCompletionBody = z.infer<typeof ChatCompletionSchema>;

const textOf = (content: z.infer<typeof Content> | null | undefined) => (typeof content === 'string' ? content : (content ?? []).map((part) => part.text).join(''));

function turnOf(message: ChatCompletionBody['messages'][number]): CompletionTurn {
  switch (message.role) {
    case 'assistant': {
      const calls = message.tool_calls?.map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments }));
      return { role: 'assistant', text: textOf(message.content), ...(calls?.length ? { tool_calls: calls } : {}) };
    }
    case 'tool':
      return { role: 'tool', text: textOf(message.content), tool_call_id: message.tool_call_id };
    default:
      return { role: message.role === 'developer' ? 'system' : message.role, text: textOf(message.content) };
  }
}

/** A json_schema format without a schema is any JSON object, as OpenAI reads it. */
function formatOf(format: NonNullable<ChatCompletionBody['response_format']>): CompletionRequest['response_format'] {
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object' || !format.json_schema.schema) return { type: 'json_object' };
  return ResponseFormatSchema.parse({ type: 'json_schema', name: format.json_schema.name, schema: format.json_schema.schema });
}

/**
 * The request as a completion message: the last user turn is the text, the rest its history;
 * a request that ends with tool results has them all in history and no text.
 */
export function completionOf(body: ChatCompletionBody): { text: string; completion: CompletionRequest } {
  const last = body.messages.at(-1);
  if (!last) throw new ApiError(400, 'invalid_request', 'messages: at least one');
  const endsWithUser = last.role === 'user';
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const choice = body.tool_choice;
  const format = body.response_format ? formatOf(body.response_format) : undefined;
  return {
    text: endsWithUser ? textOf(last.content) : '',
    completion: {
      history: (endsWithUser ? body.messages.slice(0, -1) : body.messages).map(turnOf),
      model: body.model,
      ...(maxTokens ? { max_tokens: maxTokens } : {}),
      ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
      ...(typeof body.top_p === 'number' ? { top_p: body.top_p } : {}),
      ...(body.tools?.length
        ? {
            tools: body.tools.map(({ function: f }) => ({ name: f.name, ...(f.description ? { description: f.description } : {}), ...(f.parameters ? { parameters: f.parameters } : {}) })),
            ...(choice ? { tool_choice: typeof choice === 'string' ? choice : { name: choice.function.name } } : {}),
            ...(typeof body.parallel_tool_calls === 'boolean' ? { parallel_tool_calls: body.parallel_tool_calls } : {}),
          }
        : {}),
      ...(format ? { response_format: format } : {}),
    },
  };
}
