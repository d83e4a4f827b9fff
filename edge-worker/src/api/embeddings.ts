import { EMBED_INPUT_MAX_BYTES, EMBED_MAX_INPUTS, base64ToFloat32, maxEmbedInputs } from '@hearth/shared';
import type { Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { relayFor } from '../relay/stub.js';
import { ApiError, refusalError } from './errors.js';
import { matchModel } from './models.js';

/**
 * OpenAI's embeddings request. `input` is text: token ids (numbers) are refused, since ids
 * mean nothing across tokenizers and the caller's are not the home model's. `dimensions` must be
 * the model's own: shortening a vector is right only for models trained for it (Matryoshka),
 * which neither the built-in embedder nor most GGUF models are. `user` is accepted and ignored.
 */
export const EmbeddingsSchema = z.object({
  model: z.string().min(1).max(256),
  input: z.union([z.string(), z.array(z.unknown())], { error: 'input is a string or an array of strings' }),
  encoding_format: z.enum(['float', 'base64'], { error: 'encoding_format is float or base64' }).nullish(),
  dimensions: z.number().int().positive().nullish(),
  user: z.string().max(256).nullish(),
});
type EmbeddingsBody = z.infer<typeof EmbeddingsSchema>;

const refuse = (message: string) => new ApiError(400, 'invalid_request', message);

/** The texts to embed, each checked: a string, not empty, at most EMBED_MAX_INPUTS of them. */
function textsOf(input: EmbeddingsBody['input']): string[] {
  const items = typeof input === 'string' ? [input] : input;
  if (items.length === 0) throw refuse('input: at least one text');
  if (items.length > EMBED_MAX_INPUTS) throw refuse(`input: at most ${EMBED_MAX_INPUTS} texts per request, got ${items.length}`);
  return items.map((item, i) => {
    const where = typeof input === 'string' ? 'input' : `input[${i}]`;
    if (typeof item === 'number' || Array.isArray(item)) throw refuse(`${where}: token ids are not supported; send the text (ids mean nothing across tokenizers)`);
    if (typeof item !== 'string') throw refuse(`${where}: a text (string)`);
    if (item.length === 0) throw refuse(`${where}: an empty text has no embedding`);
    return item;
  });
}

const coreError = (message: string) => new ApiError(502, 'core_error', message);

/**
 * `POST /v1/embeddings` (chat:write, as completions: it spends the home machine's compute on
 * the caller's text), compatible with OpenAI's. A connected core computes the vectors with its
 * embedding model (the recall embedder); they come back as float32 and are answered as numbers
 * or, with `encoding_format: base64`, as the same bytes in base64. 503 while no core is
 * connected, 504 when it does not answer in HEARTH_COMPLETION_TIMEOUT_MS.
 */
export async function createEmbeddings(c: Context<AppEnv>, body: EmbeddingsBody): Promise<Response> {
  const texts = textsOf(body.input);
  const model = await matchModel(c, 'embedding', body.model);
  if (!model) throw refusalError({ ok: false, code: 'core_offline', message: 'no core is connected to compute embeddings; try again when one is' });
  if (typeof body.dimensions === 'number' && body.dimensions !== model.dimensions) {
    throw refuse(`dimensions: ${model.id} gives ${model.dimensions}; shortening vectors is not supported (right only for models trained for it)`);
  }
  const max = maxEmbedInputs(model.dimensions);
  if (texts.length > max) throw refuse(`input: at most ${max} texts per request with ${model.id} (${model.dimensions} dimensions: one answer must fit a tunnel frame)`);
  if (new TextEncoder().encode(JSON.stringify(texts)).byteLength > EMBED_INPUT_MAX_BYTES) {
    throw new ApiError(413, 'payload_too_large', `input: at most ${EMBED_INPUT_MAX_BYTES} bytes of text in all per request`);
  }

  const answer = await relayFor(c.env).embed(model.id, texts);
  if (!answer.ok) throw answer.code === 'invalid_input' ? refuse(answer.message) : refusalError({ ...answer, code: answer.code });
  if (answer.vectors.length !== texts.length) throw coreError(`the core answered ${answer.vectors.length} vectors for ${texts.length} texts`);
  const base64 = body.encoding_format === 'base64';
  const data = answer.vectors.map((encoded, index) => {
    const vector = base64ToFloat32(encoded);
    if (vector?.length !== model.dimensions) throw coreError(`the core answered a vector that is not ${model.dimensions} float32s`);
    return { object: 'embedding', index, embedding: base64 ? encoded : Array.from(vector) };
  });
  return c.json({ object: 'list', data, model: model.id, usage: { prompt_tokens: answer.promptTokens, total_tokens: answer.promptTokens } });
}
