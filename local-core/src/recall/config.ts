import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { wholeNumber } from '@hearth/shared';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseEnv } from '../env.js';

/** How much BM25 counts beside the vectors' cosine in a search (OpenClaw's hybrid default: 0.7 vector, 0.3 text). */
export const DEFAULT_KEYWORD_WEIGHT = 0.3;

/**
 * Recall's settings, as a zod schema over the environment so that the core's configuration can
 * embed it (`CoreEnvSchema.extend(RecallEnvSchema.shape)`) and still report every variable.
 */
export const RecallEnvSchema = z.object({
  HEARTH_RECALL: z
    .enum(['on', 'off', 'true', 'false', '1', '0'], { error: 'HEARTH_RECALL must be on (default) or off' })
    .default('on')
    .transform((v) => v === 'on' || v === 'true' || v === '1')
    .meta({ description: 'long-term recall: past messages and notes embedded and searched, the few most relevant added to the prompt (`on` or `off`)' }),
  HEARTH_EMBED_MODEL: z.string().min(1).optional().meta({ description: 'the embedding model of recall and of `POST /v1/embeddings`: a GGUF (e.g. nomic-embed-text; run by node-llama-cpp, no tokenizer file, texts up to 4096 tokens), or a sentence-embedding ONNX model (e.g. all-MiniLM-L6-v2) with its `tokenizer.json`', shownDefault: 'none: the built-in embedder' }),
  HEARTH_EMBED_TOKENIZER: z.string().min(1).optional().meta({ description: 'the `tokenizer.json` of an ONNX `HEARTH_EMBED_MODEL` (a GGUF holds its own)', shownDefault: '`tokenizer.json` beside the model' }),
  HEARTH_EMBED_THREADS: wholeNumber('HEARTH_EMBED_THREADS', 1, 64).default(1).meta({ description: 'onnxruntime threads for embeddings' }),
  HEARTH_RECALL_KEYWORD_WEIGHT: z.coerce
    .number({ error: 'HEARTH_RECALL_KEYWORD_WEIGHT must be a number from 0 to 1, e.g. 0.3' })
    .min(0, 'HEARTH_RECALL_KEYWORD_WEIGHT must be from 0 (vectors only) to 1 (keywords only)')
    .max(1, 'HEARTH_RECALL_KEYWORD_WEIGHT must be from 0 (vectors only) to 1 (keywords only)')
    .default(DEFAULT_KEYWORD_WEIGHT)
    .meta({ description: "BM25's share of a recall hit's score beside the vectors' cosine (0 to 1; 0: vectors only)" }),
});

/** A GGUF embedding model carries its own tokenizer: HEARTH_EMBED_TOKENIZER is for ONNX models. */
export const isGguf = (path: string): boolean => path.toLowerCase().endsWith('.gguf');

export interface RecallConfig {
  /** Whether relevant memories are added to prompts (notes can be managed either way). */
  enabled: boolean;
  /** A GGUF or sentence-embedding ONNX model; unset means the built-in hashing embedder. */
  modelPath: string | undefined;
  /** Its tokenizer.json; defaults to `tokenizer.json` beside the model. */
  tokenizerPath: string | undefined;
  /** onnxruntime intra-op threads for embedding. */
  threads: number;
  /** The keyword (BM25) share of a hit's score, 0 to 1; the vectors' cosine has the rest. */
  keywordWeight: number;
}

/**
 * Validates recall's variables in `env`.
 *
 * @throws ConfigError listing every bad variable, or when a model is set without a tokenizer
 * @example
 * const recall = loadRecallConfig(process.env); // { enabled: true, modelPath: undefined, ... }
 */
export function loadRecallConfig(env: NodeJS.ProcessEnv): RecallConfig {
  const e = parseEnv(RecallEnvSchema, env);
  let tokenizerPath = e.HEARTH_EMBED_TOKENIZER;
  if (e.HEARTH_EMBED_MODEL === undefined && tokenizerPath !== undefined) {
    throw new ConfigError('HEARTH_EMBED_TOKENIZER is set but HEARTH_EMBED_MODEL is not: set both (a model and its tokenizer.json) or neither');
  }
  if (e.HEARTH_EMBED_MODEL !== undefined && isGguf(e.HEARTH_EMBED_MODEL)) {
    if (tokenizerPath !== undefined) throw new ConfigError('HEARTH_EMBED_TOKENIZER is set but HEARTH_EMBED_MODEL is a GGUF, which holds its own tokenizer: unset it');
  } else if (e.HEARTH_EMBED_MODEL !== undefined && tokenizerPath === undefined) {
    const beside = join(dirname(e.HEARTH_EMBED_MODEL), 'tokenizer.json');
    if (!existsSync(beside)) {
      throw new ConfigError(`HEARTH_EMBED_TOKENIZER is not set and there is no ${beside}: set it to the tokenizer.json of HEARTH_EMBED_MODEL`);
    }
    tokenizerPath = beside;
  }
  return { enabled: e.HEARTH_RECALL, modelPath: e.HEARTH_EMBED_MODEL, tokenizerPath, threads: e.HEARTH_EMBED_THREADS, keywordWeight: e.HEARTH_RECALL_KEYWORD_WEIGHT };
}
