import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import { ConfigError } from '../errors.js';
import { batches, l2Normalize, sessionOptions, type Embedder } from './embedder.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface ModelEmbedderOptions {
  /** A sentence-embedding model in ONNX (e.g. all-MiniLM-L6-v2's `model.onnx`). */
  modelPath: string;
  /** Its `tokenizer.json`. */
  tokenizerPath: string;
  /** onnxruntime intra-op threads (default 1). */
  threads?: number;
  /** Tokens per text; default from the tokenizer files, else 512. */
  maxLength?: number;
}

const FEEDS = ['input_ids', 'attention_mask', 'token_type_ids'] as const;
const BATCH = 16;

/**
 * A real sentence-embedding model: tokenised with @huggingface/tokenizers, run by
 * onnxruntime-node, pooled and normalised. Feeds only the inputs the model declares; takes its
 * `sentence_embedding` output when it has one, else mean-pools `last_hidden_state` (or its only
 * output) over the tokens the attention mask keeps.
 *
 * @example
 * const embedder = await ModelEmbedder.create({ modelPath: 'minilm/model.onnx', tokenizerPath: 'minilm/tokenizer.json' });
 */
export class ModelEmbedder implements Embedder {
  readonly name: string;
  private dims = 0;
  // Sentence-embedding models put unrelated texts near 0–0.2 and paraphrases far above.
  readonly suggestedMinScore = 0.3;
  private disposed = false;

  private constructor(
    private readonly session: InferenceSession,
    private readonly tokenizer: TextTokenizer,
    private readonly output: string,
    private readonly int32: boolean,
    identity: string,
  ) {
    this.name = `${identity}/${output}/t${tokenizer.maxLength}`;
  }

  /**
   * Loads the model and tokenizer and embeds one probe text to learn the dimensions.
   *
   * @throws ConfigError naming HEARTH_EMBED_MODEL or HEARTH_EMBED_TOKENIZER when a file is
   * missing, unreadable or not what a sentence-embedding model needs
   */
  static async create(options: ModelEmbedderOptions): Promise<ModelEmbedder> {
    const { modelPath } = options;
    let bytes: Buffer;
    try {
      bytes = await readFile(modelPath);
    } catch (cause) {
      throw new ConfigError(`HEARTH_EMBED_MODEL: cannot read ${modelPath}; set it to a sentence-embedding .onnx file, or unset it for the built-in embedder`, { cause });
    }
    const tokenizer = await loadTokenizer(options.tokenizerPath, options.maxLength);
    let session: InferenceSession;
    try {
      session = await InferenceSession.create(bytes, sessionOptions(options.threads ?? 1));
    } catch (cause) {
      throw new ConfigError(`HEARTH_EMBED_MODEL: onnxruntime cannot load ${modelPath}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    }
    try {
      return await ModelEmbedder.inspect(session, tokenizer, modelPath, bytes);
    } catch (error) {
      // Nothing else holds the session yet: free the model's memory before reporting.
      await session.release();
      throw error;
    }
  }

  /** Checks the model's inputs and outputs, and probes it once for its dimensions. */
  private static async inspect(session: InferenceSession, tokenizer: TextTokenizer, modelPath: string, bytes: Buffer): Promise<ModelEmbedder> {
    const unknown = session.inputNames.filter((name) => !(FEEDS as readonly string[]).includes(name));
    if (!session.inputNames.includes('input_ids') || unknown.length > 0) {
      throw new ConfigError(
        `HEARTH_EMBED_MODEL: ${modelPath} takes inputs [${session.inputNames.join(', ')}]; a sentence-embedding model takes input_ids ` +
          '(and optionally attention_mask, token_type_ids)',
      );
    }
    const ids = session.inputMetadata.find((m) => m.name === 'input_ids');
    const int32 = ids?.isTensor === true && ids.type === 'int32';
    const output = ['sentence_embedding', 'last_hidden_state'].find((name) => session.outputNames.includes(name)) ?? session.outputNames[0];
    if (output === undefined) throw new ConfigError(`HEARTH_EMBED_MODEL: ${modelPath} has no outputs`);
    // The file's digest, not its path, names the vector space: another model saved under the
    // same name must not be compared with this one's vectors.
    const digest = createHash('sha256').update(bytes).digest('hex').slice(0, 12);
    const embedder = new ModelEmbedder(session, tokenizer, output, int32, `onnx/${basename(modelPath)}@${digest}`);
    const [probe] = await embedder.embed(['hello']);
    if (probe === undefined || probe.length === 0) throw new ConfigError(`HEARTH_EMBED_MODEL: ${modelPath} gave an empty embedding`);
    embedder.dims = probe.length;
    return embedder;
  }

  /** Learned from the model's output when it was loaded. */
  get dimensions(): number {
    return this.dims;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.disposed) throw new Error(`embedder ${this.name} is disposed`);
    const vectors: Float32Array[] = [];
    for (const batch of batches(texts, BATCH)) vectors.push(...(await this.embedBatch(batch)));
    return vectors;
  }

  private async embedBatch(texts: string[]): Promise<Float32Array[]> {
    const encoded = texts.map((text) => this.tokenizer.encode(text));
    const width = Math.max(1, ...encoded.map((ids) => ids.length));
    const n = texts.length;
    const ids = new Array<number>(n * width).fill(this.tokenizer.padId);
    const mask = new Array<number>(n * width).fill(0);
    for (const [row, tokens] of encoded.entries()) {
      for (const [col, id] of tokens.entries()) {
        ids[row * width + col] = id;
        mask[row * width + col] = 1;
      }
    }
    const tensor = (values: number[]) =>
      this.int32 ? new Tensor('int32', Int32Array.from(values), [n, width]) : new Tensor('int64', BigInt64Array.from(values, BigInt), [n, width]);
    const all = { input_ids: () => tensor(ids), attention_mask: () => tensor(mask), token_type_ids: () => tensor(new Array<number>(n * width).fill(0)) };
    const feeds = Object.fromEntries(this.session.inputNames.map((name) => [name, all[name as keyof typeof all]()]));
    const result = (await this.session.run(feeds, [this.output]))[this.output];
    if (!(result instanceof Tensor) || !(result.data instanceof Float32Array)) {
      throw new ConfigError(`HEARTH_EMBED_MODEL: output ${this.output} is not a float32 tensor`);
    }
    return pool(result.data, result.dims, mask, width);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

/**
 * One unit vector per row: [N, H] rows as they are, [N, T, H] averaged over the positions the
 * mask keeps (so padding added for a longer neighbour never changes a text's vector).
 */
function pool(data: Float32Array, dims: readonly number[], mask: readonly number[], width: number): Float32Array[] {
  const [n = 0, second = 0, third] = dims;
  if (third === undefined) return Array.from({ length: n }, (_, i) => l2Normalize(data.slice(i * second, (i + 1) * second)));
  const [tokens, hidden] = [second, third];
  if (tokens !== width) throw new ConfigError(`HEARTH_EMBED_MODEL: output has ${tokens} positions for ${width} tokens`);
  return Array.from({ length: n }, (_, i) => {
    const sum = new Float32Array(hidden);
    let kept = 0;
    for (let t = 0; t < tokens; t++) {
      if (mask[i * width + t] !== 1) continue;
      kept++;
      const base = (i * tokens + t) * hidden;
      for (let h = 0; h < hidden; h++) sum[h] = (sum[h] ?? 0) + (data[base + h] ?? 0);
    }
    if (kept > 0) for (let h = 0; h < hidden; h++) sum[h] = (sum[h] ?? 0) / kept;
    return l2Normalize(sum);
  });
}
