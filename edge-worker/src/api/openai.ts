import { COMPLETION_CONVERSATION_PREFIX, seal, type TokenUsage, type ToolCall } from '@hearth/shared';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import type { CompletionEvent } from '../relay/completions.js';
import { composeApiMessage } from './compose.js';
import { ApiError } from './errors.js';
import { matchModel } from './models.js';
import { completionEvents } from './ndjson.js';
import { type ChatCompletionBody, completionOf } from './openai-request.js';
import { relayClientRequest } from './relay-request.js';

type FinishReason = NonNullable<Extract<CompletionEvent, { type: 'done' }>['finish_reason']>;

/** The assistant's message: its text, or its calls of the client's functions (content null when it said nothing). */
const messageOf = (done: Extract<CompletionEvent, { type: 'done' }>) => ({
  role: 'assistant',
  content: done.tool_calls && done.text === '' ? null : done.text,
  refusal: null,
  ...(done.tool_calls ? { tool_calls: done.tool_calls.map(wireCall) } : {}),
});

const wireCall = (call: ToolCall) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } });

/** OpenAI's `usage` object. */
const usageOf = (usage: TokenUsage) => ({ ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens });

const STATUS_OF: Record<string, 502 | 503 | 504> = { core_offline: 503, queue_full: 503, core_timeout: 504 };

const failure = (event: Extract<CompletionEvent, { type: 'error' }>) =>
  new ApiError(STATUS_OF[event.code] ?? 502, event.code, event.message, STATUS_OF[event.code] === 503 ? { headers: { 'Retry-After': '30' } } : {});

/**
 * `POST /v1/chat/completions` (chat:write), compatible with OpenAI's: existing clients and SDKs
 * reach the home model with a Hearth token as their API key. Non-streaming answers the whole
 * completion; `stream: true` answers SSE chunks ending with `[DONE]`. The request is a queued
 * message (windows, failover, one reply), but stateless: nothing of it is kept in history.
 */
export async function chatCompletions(c: Context<AppEnv>, body: ChatCompletionBody): Promise<Response> {
  const { user } = c.get('client');
  await matchModel(c, 'chat', body.model);
  const { text, completion } = completionOf(body);
  const id = crypto.randomUUID();
  const message = composeApiMessage({ user, conversation: `${COMPLETION_CONVERSATION_PREFIX}${id}`, text, completion, clientId: '1', now: Date.now() });
  const sealed = await seal(JSON.stringify(message), c.get('config').coreKeys);
  const response = await relayClientRequest(c, 'completion', {
    body: JSON.stringify({ message_id: message.message_id, conversation_id: message.conversation.id, sealed }),
  });
  if (!response.body) throw new ApiError(502, 'core_error', 'the relay answered nothing');
  const events = completionEvents(response.body);
  const first = await events.next();
  if (first.done) throw new ApiError(502, 'core_error', 'the relay ended the reply early');
  if (first.value.type === 'error') throw failure(first.value);
  log('info', 'completion_started', { user, message_id: message.message_id, stream: body.stream === true });

  const chunk = { id: `chatcmpl-${id}`, created: Math.floor(Date.now() / 1000), model: body.model };
  if (!body.stream) {
    let event: CompletionEvent = first.value;
    while (event.type === 'delta') {
      const next = await events.next();
      if (next.done) throw new ApiError(502, 'core_error', 'the relay ended the reply early');
      event = next.value;
    }
    if (event.type === 'error') throw failure(event);
    return c.json({
      ...chunk,
      object: 'chat.completion',
      choices: [{ index: 0, message: messageOf(event), logprobs: null, finish_reason: event.finish_reason ?? 'stop' }],
      ...(event.usage ? { usage: usageOf(event.usage) } : {}),
    });
  }

  const streamed = streamSSE(c, async (stream) => {
    const send = (data: unknown) => stream.writeSSE({ data: typeof data === 'string' ? data : JSON.stringify(data) });
    const delta = (content: Record<string, unknown>, finish: FinishReason | null = null) =>
      send({ ...chunk, object: 'chat.completion.chunk', choices: [{ index: 0, delta: content, logprobs: null, finish_reason: finish }] });
    let written = '';
    try {
      await delta({ role: 'assistant', content: '' });
      for (let event: CompletionEvent | undefined = first.value; event; event = (await events.next()).value ?? undefined) {
        if (event.type === 'delta') {
          written += event.text;
          await delta({ content: event.text });
        } else if (event.type === 'done') {
          // The ack's text is the reply; the partials were a preview of it. Send what they lacked.
          if (event.text.startsWith(written) && event.text.length > written.length) await delta({ content: event.text.slice(written.length) });
          for (const [index, call] of (event.tool_calls ?? []).entries()) {
            // As OpenAI streams a call: its id and name first, then its arguments.
            await delta({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] });
            await delta({ tool_calls: [{ index, function: { arguments: call.arguments } }] });
          }
          await delta({}, event.finish_reason ?? 'stop');
          if (body.stream_options?.include_usage && event.usage) await send({ ...chunk, object: 'chat.completion.chunk', choices: [], usage: usageOf(event.usage) });
          await send('[DONE]');
          break;
        } else {
          await send({ error: { message: event.message, type: 'server_error', code: event.code } });
          break;
        }
      }
    } catch (error) {
      log('warn', 'completion_stream_ended', { user, message_id: message.message_id, error: error instanceof Error ? error.message : String(error) });
    } finally {
      await events.return(undefined);
    }
  });
  // A completion is one person's: no cache may keep it.
  streamed.headers.set('Cache-Control', 'no-store');
  return streamed;
}
