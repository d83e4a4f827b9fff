import { dirname, join } from 'node:path';
import type { Embedder } from './embedder.js';
import { isGguf, type RecallConfig } from './config.js';
import { HashingEmbedder } from './hashing-embedder.js';

/**
 * The embedder the configuration asks for: the model HEARTH_EMBED_MODEL names (a `.gguf`, run
 * by node-llama-cpp, or a sentence-embedding `.onnx` with its tokenizer), else the built-in
 * hashing embedder (no download, no files).
 *
 * @throws ConfigError naming HEARTH_EMBED_MODEL / HEARTH_EMBED_TOKENIZER when their files are missing or unusable
 * @example
 * const embedder = await createEmbedder(loadRecallConfig(process.env));
 */
export async function createEmbedder(config: Pick<RecallConfig, 'modelPath' | 'tokenizerPath' | 'threads'>): Promise<Embedder> {
  if (config.modelPath === undefined) return HashingEmbedder.create({ threads: config.threads });
  // node-llama-cpp and onnxruntime are imported only for the embedder that runs on them.
  if (isGguf(config.modelPath)) return (await import('./gguf-embedder.js')).GgufEmbedder.create({ modelPath: config.modelPath, threads: config.threads });
  const { ModelEmbedder } = await import('./model-embedder.js');
  return ModelEmbedder.create({
    modelPath: config.modelPath,
    // loadRecallConfig always fills it when a model is set; the file beside the model otherwise.
    tokenizerPath: config.tokenizerPath ?? join(dirname(config.modelPath), 'tokenizer.json'),
    threads: config.threads,
  });
}
