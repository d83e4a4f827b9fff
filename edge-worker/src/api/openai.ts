import { COMPLETION_CONVERSATION_PREFIX, seal, type CompletionRequest, type TokenUsage } from '@hearth/shared';
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { log } from '../log.js';
import type { CompletionEvent } from '../relay/completions.js';
import { relayFor } from '../relay/stub.js';
import { composeApiMessage } from './compose.js';
import { ApiError } from './errors.js';
import { completionEvents } from './ndjson.js';
import { relayClientRequest } from './relay-request.js';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });

/**
 * The OpenAI chat completion request, as far as a local model can honour it. Unknown options
 * (penalties, seeds...) are accepted and ignored, as other OpenAI-compatible
 * servers do; tools, images and n > 1 are refused, since answering without them would mislead.
 */
export const ChatCompletionSchema = z.object({
  model: z.string().min(1).max(256),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'roles are system, developer, user and assistant (no tools)' }),
        content: z.union([z.string().max(65_536), z.array(TextPart).max(64)], { error: 'content is a string or text parts' }),
      }),
    )
    .min(1)
    .max(256),
  stream: z.boolean().optional(),
  max_tokens: z.number().int().positive().max(32_768).nullish(),
  max_completion_tokens: z.number().int().positive().max(32_768).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  n: z.literal(1, { error: 'n must be 1' }).nullish(),
  /** `include_usage`: a last chunk (no choices) says how many tokens the model read and wrote. */
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
});
type ChatCompletionBody = z.infer<typeof ChatCompletionSchema>;

const textOf = (content: ChatCompletionBody['messages'][number]['content']) =>
  typeof content === 'string' ? content : content.map((part) => part.text).join('');

/** OpenAI's `usage` object. */
const usageOf = (usage: TokenUsage) => ({ ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens });

const STATUS_OF: Record<string, 502 | 503 | 504> = { core_offline: 503, queue_full: 503, core_timeout: 504 };

const failure = (event: Extract<CompletionEvent, { type: 'error' }>) =>
  new ApiError(STATUS_OF[event.code] ?? 502, event.code, event.message, STATUS_OF[event.code] === 503 ? { headers: { 'Retry-After': '30' } } : {});

/** The request as a completion message: the last user turn is the text, the rest its history. */
function completionOf(body: ChatCompletionBody): { text: string; completion: CompletionRequest } {
  const last = body.messages.at(-1);
  if (last?.role !== 'user') throw new ApiError(400, 'invalid_request', 'messages: the last message must be from the user');
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  return {
    text: textOf(last.content),
    completion: {
      history: body.messages.slice(0, -1).map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, text: textOf(m.content) })),
      model: body.model,
      ...(maxTokens ? { max_tokens: maxTokens } : {}),
      ...(typeof body.temperature === 'number' ? { temperature: body.temperature } : {}),
      ...(typeof body.top_p === 'number' ? { top_p: body.top_p } : {}),
    },
  };
}

/**
 * `POST /v1/chat/completions` (chat:write), compatible with OpenAI's: existing clients and SDKs
 * reach the home model with a Hearth token as their API key. Non-streaming answers the whole
 * completion; `stream: true` answers SSE chunks ending with `[DONE]`. The request is a queued
 * message (windows, failover, one reply), but stateless: nothing of it is kept in history.
 */
export async function chatCompletions(c: Context<AppEnv>, body: ChatCompletionBody): Promise<Response> {
  const { user } = c.get('client');
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
      choices: [{ index: 0, message: { role: 'assistant', content: event.text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      ...(event.usage ? { usage: usageOf(event.usage) } : {}),
    });
  }

  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const encoder = new TextEncoder();
  const send = (data: unknown) => writer.write(encoder.encode(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`));
  const delta = (content: Record<string, string>, finish: 'stop' | null = null) =>
    send({ ...chunk, object: 'chat.completion.chunk', choices: [{ index: 0, delta: content, logprobs: null, finish_reason: finish }] });
  c.executionCtx.waitUntil(
    (async () => {
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
            await delta({}, 'stop');
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
        await writer.close().catch(() => undefined);
      }
    })(),
  );
  return new Response(readable, { headers: { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store' } });
}

/** `GET /v1/models` (chat:read): the models the connected cores answer with (none while all are offline). */
export async function listModels(c: Context<AppEnv>): Promise<Response> {
  const models = await relayFor(c.env).models();
  // `created` is when the model was made; the edge does not know it.
  return c.json({ object: 'list', data: models.map((m) => ({ id: m.id, object: 'model', created: 0, owned_by: 'hearth', description: m.description })) });
}
