import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mulberry32 } from '../../src/recall/hash.js';
import { ElemType, encodeModel, floatTensor, int64Tensor, intAttr, intsAttr, node, tensorValue } from '../../src/recall/onnx-graph.js';

/**
 * A tiny BERT-shaped model and WordPiece tokenizer, written to a folder, to test the real-model
 * path without a download: the same inputs, output name and shapes as all-MiniLM-L6-v2, with
 * a lookup table in place of the transformer. Padding positions get non-zero vectors (the
 * [PAD] row), as a real model's do, so pooling that ignored the mask would be caught.
 */

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const WORDS = ['the', 'cat', 'dog', 'sat', 'ran', 'on', 'mat', 'my', 'dentist', 'tuesday', 'garden', 'tomato', 'water', '##s', 'hello', 'world', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
export const VOCAB = [...SPECIALS, ...WORDS];
export const HIDDEN = 64;

/** The model's lookup tables, for computing expected vectors by hand. */
export interface TinyBertTables {
  word: Float32Array; // [VOCAB, HIDDEN]
  type: Float32Array; // [2, HIDDEN]
  kept: Float32Array; // [HIDDEN], added where attention_mask is 1
}

function tables(seed = 7): TinyBertTables {
  const random = mulberry32(seed);
  const fill = (n: number, scale: number) => Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
  // Small offsets shared by every token, as in a trained model: words still dominate the mean.
  return { word: fill(VOCAB.length * HIDDEN, 1), type: fill(2 * HIDDEN, 0.1), kept: fill(HIDDEN, 0.1) };
}

/**
 * `last_hidden_state[b, t] = word[input_ids[b, t]] + type[token_type_ids[b, t]] + attention_mask[b, t] · kept`,
 * or, with `sentenceOutput`, a model taking only `input_ids` whose `sentence_embedding` is the
 * plain mean of `word[input_ids]` over the sequence.
 */
function tinyBertModel(t: TinyBertTables, sentenceOutput = false): Uint8Array {
  const ids = tensorValue('input_ids', ElemType.INT64, ['batch', 'sequence']);
  const word = floatTensor('word_embeddings', [VOCAB.length, HIDDEN], t.word);
  if (sentenceOutput) {
    return encodeModel({
      name: 'tiny_sentence',
      inputs: [ids],
      outputs: [tensorValue('sentence_embedding', ElemType.FLOAT, ['batch', HIDDEN])],
      initializers: [word],
      nodes: [node('Gather', ['word_embeddings', 'input_ids'], ['words']), node('ReduceMean', ['words'], ['sentence_embedding'], [intsAttr('axes', [1]), intAttr('keepdims', 0)])],
    });
  }
  return encodeModel({
    name: 'tiny_bert',
    inputs: [ids, tensorValue('attention_mask', ElemType.INT64, ['batch', 'sequence']), tensorValue('token_type_ids', ElemType.INT64, ['batch', 'sequence'])],
    outputs: [tensorValue('last_hidden_state', ElemType.FLOAT, ['batch', 'sequence', HIDDEN])],
    // Unsqueeze takes its axes as an input from opset 13.
    initializers: [word, floatTensor('type_embeddings', [2, HIDDEN], t.type), floatTensor('kept', [HIDDEN], t.kept), int64Tensor('last_axis', [1], [-1])],
    nodes: [
      node('Gather', ['word_embeddings', 'input_ids'], ['words']),
      node('Gather', ['type_embeddings', 'token_type_ids'], ['types']),
      node('Cast', ['attention_mask'], ['mask_float'], [intAttr('to', ElemType.FLOAT)]),
      node('Unsqueeze', ['mask_float', 'last_axis'], ['mask_column']),
      node('Mul', ['mask_column', 'kept'], ['kept_part']),
      node('Add', ['words', 'types'], ['words_types']),
      node('Add', ['words_types', 'kept_part'], ['last_hidden_state']),
    ],
  });
}

/** A BERT-style WordPiece tokenizer.json over {@link VOCAB}: lower-cases, [CLS] … [SEP]. */
function tokenizerJson(): object {
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  const id = (token: string) => VOCAB.indexOf(token);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((s) => special(s, id(s))),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [id('[CLS]')], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [id('[SEP]')], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: Object.fromEntries(VOCAB.map((t, i) => [t, i])) },
  };
}

/** Writes model.onnx, tokenizer.json and tokenizer_config.json into `dir`; returns their paths. */
export async function writeTinyBert(dir: string, options: { sentenceOutput?: boolean; modelMaxLength?: number } = {}) {
  const t = tables();
  const modelPath = join(dir, 'model.onnx');
  const tokenizerPath = join(dir, 'tokenizer.json');
  await writeFile(modelPath, tinyBertModel(t, options.sentenceOutput));
  await writeFile(tokenizerPath, JSON.stringify(tokenizerJson()));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: true, pad_token: '[PAD]', model_max_length: options.modelMaxLength ?? 512 }));
  return { modelPath, tokenizerPath, tables: t };
}
