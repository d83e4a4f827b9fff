import { randomUUID } from 'node:crypto';
import type { ClientTool, ResponseFormat } from '@hearth/shared';
import type { ChatHistoryItem, ChatModelFunctions, ChatModelFunctionCall, GbnfJsonSchema, Llama, LlamaChat, LlamaGrammar } from 'node-llama-cpp';
import type { GenerationStop, HistoryTurn, ReplyOptions } from './engine.js';
import { toGrammarSchema } from './tool-functions.js';

/** Most calls the model may make in one turn when the client allows parallel calls. */
const MAX_PARALLEL_CALLS = 8;

/** JSON text as a value where it parses (the model reads arguments and results as JSON), else the text. */
function jsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * A completion's turns as node-llama-cpp chat history: an assistant turn's calls become function
 * calls carrying the client's results. With `text`, a user turn and an empty model turn follow
 * (the model answers it); without, the model goes on with its last turn.
 */
function completionHistory(system: string, turns: readonly HistoryTurn[], text: string | undefined): ChatHistoryItem[] {
  const items: ChatHistoryItem[] = [{ type: 'system', text: system }];
  for (const turn of turns) {
    if (turn.role === 'user') {
      items.push({ type: 'user', text: turn.text });
      continue;
    }
    const calls = (turn.calls ?? []).map((call): ChatModelFunctionCall => ({ type: 'functionCall', name: call.name, params: jsonOr(call.arguments), result: jsonOr(call.result) }));
    items.push({ type: 'model', response: [...(turn.text ? [turn.text] : []), ...calls] });
  }
  if (text !== undefined) items.push({ type: 'user', text });
  if (items.at(-1)?.type !== 'model') items.push({ type: 'model', response: [] });
  return items;
}

const argumentsSchema = (tool: ClientTool): GbnfJsonSchema => (tool.parameters ? toGrammarSchema(tool.parameters) : { type: 'object', properties: {} });

/** One call of one of `tools`, as JSON: `{ "name": ..., "arguments": {...} }`. */
function callSchema(tools: readonly ClientTool[]): GbnfJsonSchema {
  const calls = tools.map((tool) => ({ type: 'object', properties: { name: { const: tool.name }, arguments: argumentsSchema(tool) } }) as GbnfJsonSchema);
  return calls.length === 1 && calls[0] ? calls[0] : ({ oneOf: calls } as GbnfJsonSchema);
}

/** What the model reads about the functions it must call from (a grammar holds it to the shape). */
const callInstructions = (tools: readonly ClientTool[]) =>
  [
    'Answer with one function call, as JSON {"name": ..., "arguments": {...}}, choosing from:',
    ...tools.map((tool) => `- ${tool.name}${tool.description ? `: ${tool.description}` : ''} Arguments (JSON Schema): ${JSON.stringify(tool.parameters ?? {})}`),
  ].join('\n');

/** The client's functions as node-llama-cpp chat functions without handlers: a call ends the generation. */
const clientFunctions = (tools: readonly ClientTool[]): ChatModelFunctions =>
  Object.fromEntries(tools.map((tool) => [tool.name, { ...(tool.description ? { description: tool.description } : {}), params: argumentsSchema(tool) }]));

const grammarFor = (llama: Llama, format: ResponseFormat): Promise<LlamaGrammar> =>
  format.type === 'json_object' ? llama.getGrammarFor('json') : llama.createGrammarForJsonSchema<GbnfJsonSchema>(toGrammarSchema(format.schema));

const callId = () => `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;

export interface CompletionInput {
  system: string;
  turns: readonly HistoryTurn[];
  /** The user's message; undefined when the model goes on with its turn after tool results. */
  text: string | undefined;
  maxTokens: number;
  options: ReplyOptions;
  /** Cuts the history to the context's budget (whole exchanges, system kept). */
  fit: (history: ChatHistoryItem[]) => ChatHistoryItem[];
}

/**
 * One OpenAI-style completion on `chat` (a borrowed sequence). The client's functions are never
 * run: with `tool_choice` `auto` the model may call them through the chat template's own
 * function calling; `required` or a named function hold the answer to one call by a grammar
 * (any model then calls, even one whose template knows no functions). `response_format` holds
 * the text to JSON, or to the schema; with tools in `auto`, the tools win.
 */
export async function generateCompletion(llama: Llama, chat: LlamaChat, input: CompletionInput): Promise<{ text: string; stop: GenerationStop }> {
  const { options } = input;
  const common = {
    maxTokens: input.maxTokens,
    ...(options.temperature !== undefined ? { temperature: options.temperature } : {}),
    ...(options.topP !== undefined ? { topP: options.topP } : {}),
    ...(options.onTokens ? { onToken: (tokens: readonly unknown[]) => options.onTokens?.(tokens.length) } : {}),
    ...(options.signal ? { signal: options.signal, stopOnAbortSignal: true } : {}),
  };
  const client = options.clientTools;
  if (client && client.choice !== 'auto') {
    const choice = client.choice;
    const tools = typeof choice === 'object' ? client.tools.filter((tool) => tool.name === choice.name) : client.tools;
    const grammar = await llama.createGrammarForJsonSchema<GbnfJsonSchema>(callSchema(tools));
    const history = input.fit(completionHistory(`${input.system}\n\n${callInstructions(tools)}`, input.turns, input.text));
    // The call's JSON is not content: nothing of it streams.
    const result = await chat.generateResponse(history, { ...common, grammar });
    if (result.metadata.stopReason === 'maxTokens') return { text: result.response, stop: { reason: 'length' } };
    if (result.metadata.stopReason === 'abort') return { text: '', stop: { reason: 'stop' } };
    const call = grammar.parse(result.response) as unknown as { name: string; arguments: unknown };
    return { text: '', stop: { reason: 'tool_calls', toolCalls: [{ id: callId(), name: call.name, arguments: JSON.stringify(call.arguments) }] } };
  }
  const history = input.fit(completionHistory(input.system, input.turns, input.text));
  const stream = options.onText ? { onTextChunk: options.onText } : {};
  if (client) {
    const result = await chat.generateResponse(history, {
      ...common,
      ...stream,
      functions: clientFunctions(client.tools),
      maxParallelFunctionCalls: client.parallel ? MAX_PARALLEL_CALLS : 1,
    });
    const calls = (result.functionCalls ?? []).map((call) => ({ id: callId(), name: call.functionName, arguments: JSON.stringify(call.params ?? {}) }));
    if (calls.length > 0) return { text: result.response, stop: { reason: 'tool_calls', toolCalls: calls } };
    return { text: result.response, stop: { reason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop' } };
  }
  const grammar = options.responseFormat ? await grammarFor(llama, options.responseFormat) : undefined;
  const result = await chat.generateResponse(history, { ...common, ...stream, ...(grammar ? { grammar } : {}) });
  return { text: result.response, stop: { reason: result.metadata.stopReason === 'maxTokens' ? 'length' : 'stop' } };
}
