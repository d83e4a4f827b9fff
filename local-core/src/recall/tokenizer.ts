import { access, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** Used when neither tokenizer file names a maximum: BERT-family models' position table. */
const DEFAULT_MAX_TOKENS = 512;

// Only the fields read here; the library validates the rest of tokenizer.json itself.
const TokenizerJson = z.looseObject({
  model: z.looseObject({}),
  truncation: z.looseObject({ max_length: z.number().int().positive().optional() }).nullish(),
  padding: z.looseObject({ pad_id: z.number().int().nonnegative().optional() }).nullish(),
});
const TokenizerConfigJson = z.looseObject({
  // HF writes 1e30 for "no limit": only a plausible length counts.
  model_max_length: z.number().optional(),
  pad_token: z.union([z.string(), z.looseObject({ content: z.string() })]).nullish(),
});

/** A loaded tokenizer: ids with the model's special tokens, cut to `maxLength`. */
export interface TextTokenizer {
  readonly maxLength: number;
  /** The id padding positions get (masked out, so any valid id works). */
  readonly padId: number;
  encode(text: string): number[];
}

async function readJson(path: string, what: string): Promise<unknown> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`HEARTH_EMBED_TOKENIZER: cannot read ${what} at ${path}; set it to the model's tokenizer.json`, { cause });
  }
  try {
    return JSON.parse(raw);
  } catch (cause) {
    throw new ConfigError(`HEARTH_EMBED_TOKENIZER: ${path} is not valid JSON; set it to the model's tokenizer.json`, { cause });
  }
}

/**
 * Loads a Hugging Face `tokenizer.json` (and `tokenizer_config.json` beside it, when there is
 * one: it names special tokens and the maximum length).
 *
 * The maximum length is, in order: `maxLength`, tokenizer.json's truncation, tokenizer_config's
 * `model_max_length`, 512. Truncation keeps the trailing special tokens ([SEP], </s>), so a cut
 * text still ends the way the model was trained to see.
 *
 * @throws ConfigError naming HEARTH_EMBED_TOKENIZER when a file is missing or malformed
 */
export async function loadTokenizer(path: string, maxLength?: number): Promise<TextTokenizer> {
  const json = TokenizerJson.safeParse(await readJson(path, 'the tokenizer'));
  if (!json.success) throw new ConfigError(`HEARTH_EMBED_TOKENIZER: ${path} is not a tokenizer.json (no "model" section)`);
  const configPath = join(dirname(path), 'tokenizer_config.json');
  // Optional: many tokenizer.json files are complete without it.
  const hasConfig = await access(configPath).then(
    () => true,
    () => false,
  );
  let config: z.infer<typeof TokenizerConfigJson> = {};
  if (hasConfig) {
    const parsed = TokenizerConfigJson.safeParse(await readJson(configPath, 'the tokenizer config'));
    if (!parsed.success) throw new ConfigError(`HEARTH_EMBED_TOKENIZER: ${configPath} is not a tokenizer_config.json`);
    config = parsed.data;
  }

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(json.data, config);
  } catch (cause) {
    throw new ConfigError(`HEARTH_EMBED_TOKENIZER: ${path} cannot be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }

  const configured = config.model_max_length !== undefined && config.model_max_length <= 1_000_000 ? config.model_max_length : undefined;
  const limit = maxLength ?? json.data.truncation?.max_length ?? configured ?? DEFAULT_MAX_TOKENS;
  const padToken = typeof config.pad_token === 'string' ? config.pad_token : config.pad_token?.content;
  const padId =
    json.data.padding?.pad_id ??
    (padToken === undefined ? undefined : tokenizer.token_to_id(padToken)) ??
    tokenizer.token_to_id('[PAD]') ??
    tokenizer.token_to_id('<pad>') ??
    0;
  const special = new Set<number>();
  for (const [id, token] of tokenizer.get_added_tokens_decoder()) if (token.special) special.add(id);

  return {
    maxLength: limit,
    padId,
    encode(text) {
      const { ids } = tokenizer.encode(text);
      if (ids.length <= limit) return ids;
      let tail = 0;
      while (tail < ids.length && special.has(ids[ids.length - 1 - tail] ?? -1)) tail++;
      tail = Math.min(tail, limit - 1);
      return [...ids.slice(0, limit - tail), ...ids.slice(ids.length - tail)];
    },
  };
}
