import { type CoreFrameBody, type CoreModel, EMBED_RESULT_MAX_BYTES, type EmbedFrame, float32ToBase64 } from '@hearth/shared';
import type { Logger } from '../logger.js';
import type { Embedder } from '../recall/embedder.js';
import { words } from '../recall/features.js';
import { InputTooLongError } from '../recall/errors.js';
import { HashingEmbedder } from '../recall/hashing-embedder.js';

type EmbedResult = Extract<CoreFrameBody, { type: 'embed_result' }>;

/**
 * The embedder as `/v1/embeddings` offers it (said in hello): its name is the model id, since
 * the name is what identifies the vector space (vectors of two names never compare).
 */
export function embeddingModelOf(embedder: Embedder): Extract<CoreModel, { kind: 'embedding' }> {
  const description =
    embedder instanceof HashingEmbedder
      ? 'built-in hashing embedder: matches shared words and word pieces, not meaning'
      : `embedding model ${embedder.name}`;
  return { kind: 'embedding', id: embedder.name.slice(0, 256), description: description.slice(0, 512), dimensions: embedder.dimensions };
}

/**
 * The `embed_result` for an `embed` frame, from this core's embedder. Never throws: the edge
 * waits on the request id, so a failure is an answer too (`ok: false`; `code: input_too_long`
 * when a text is past what the model reads, which the client must fix).
 *
 * @example
 * tunnel.send(await answerEmbed(frame, recall.embedder, log));
 */
export async function answerEmbed(frame: EmbedFrame, embedder: Embedder, log: Logger): Promise<EmbedResult> {
  const { request_id } = frame;
  const refuse = (error: string, code?: string): EmbedResult => ({ type: 'embed_result', request_id, ok: false, error: error.slice(0, 1_000), ...(code ? { code } : {}) });
  const model = embeddingModelOf(embedder);
  if (frame.model !== model.id) return refuse(`this core embeds with ${model.id}, not ${frame.model}`, 'model_not_found');
  try {
    const vectors = (await embedder.embed(frame.input)).map(float32ToBase64);
    // The edge bounds inputs by the dimensions hello gave; this guards against a frame the codec would refuse.
    const bytes = vectors.reduce((sum, v) => sum + v.length + 3, 0);
    if (bytes > EMBED_RESULT_MAX_BYTES) return refuse(`the vectors take ${bytes} bytes, past the ${EMBED_RESULT_MAX_BYTES} a frame carries: send fewer texts`, 'input_too_long');
    const tokens = frame.input.reduce((sum, text) => sum + (embedder.countTokens?.(text) ?? words(text).length), 0);
    return { type: 'embed_result', request_id, ok: true, vectors, prompt_tokens: tokens };
  } catch (error) {
    if (error instanceof InputTooLongError) return refuse(error.message, 'input_too_long');
    const message = error instanceof Error ? error.message : String(error);
    log.warn({ err: message, requestId: request_id, inputs: frame.input.length }, 'embed request failed');
    return refuse(message);
  }
}
