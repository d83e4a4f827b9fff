/**
 * Writes a GGUF with random weights and the shape of a real small model (TinyLlama-1.1B: llama
 * architecture, 2048 wide, 22 blocks, 32 heads of which 4 for keys and values, 5632 feed-forward,
 * 32000 tokens), for CPU benchmarks whose cost is the real model's: the same matrices, quantized
 * the same way (Q4_0 or Q8_0). What it says is noise. The tokenizer (vocabulary, scores, token
 * types, special ids) is copied byte for byte from ../shared/models/llama-2-tiny-random.gguf,
 * which has the same 32000 tokens.
 *
 * `node --import tsx bench/random-gguf.ts [--layers N] [--quant q4_0|q8_0] [--out PATH]`
 * (default tests/bench/models/tinyllama-shape-<layers>l-<quant>.gguf, a folder git ignores).
 *
 * GGUF v3 (ggml's docs/gguf.md): header, key/value metadata, tensor infos, then each tensor's data
 * at an offset aligned to 32 bytes.
 */
import { randomFillSync } from 'node:crypto';
import { open, mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface ModelShape {
  name: string;
  embedding: number;
  layers: number;
  heads: number;
  kvHeads: number;
  feedForward: number;
  vocab: number;
  context: number;
}

/** TinyLlama-1.1B-Chat-v1.0's hyper-parameters (its config.json). */
export const TINYLLAMA_1_1B: ModelShape = { name: 'TinyLlama-1.1B shape (random weights)', embedding: 2048, layers: 22, heads: 32, kvHeads: 4, feedForward: 5632, vocab: 32_000, context: 2048 };

const TOKENIZER_SOURCE = resolve(import.meta.dirname, '../../../shared/models/llama-2-tiny-random.gguf');

type Quant = 'q4_0' | 'q8_0';
/** ggml_type ids, bytes per block of 32 weights, and general.file_type (llama_ftype). */
const QUANTS: Record<Quant, { type: number; blockBytes: number; fileType: number; scale: number }> = {
  // Q4_0: fp16 scale, 16 bytes of 4-bit values q (weight = (q - 8) · d; uniform q: std ≈ 4.6 d).
  q4_0: { type: 2, blockBytes: 18, fileType: 2, scale: 0.02 / 4.6 },
  // Q8_0: fp16 scale, 32 signed bytes (weight = q · d; uniform q: std ≈ 74 d).
  q8_0: { type: 8, blockBytes: 34, fileType: 7, scale: 0.02 / 74 },
};
const F32 = 0;
const ALIGNMENT = 32;

enum Kind {
  U32 = 4,
  F32 = 6,
  String = 8,
}

class Writer {
  private parts: Buffer[] = [];
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.parts.push(b);
  }
  string(s: string) {
    const bytes = Buffer.from(s, 'utf8');
    this.u64(bytes.length);
    this.parts.push(bytes);
  }
  raw(b: Buffer) {
    this.parts.push(b);
  }
  kv(key: string, kind: Kind, value: number | string) {
    this.string(key);
    this.u32(kind);
    if (kind === Kind.String) this.string(String(value));
    else if (kind === Kind.F32) this.f32(Number(value));
    else this.u32(Number(value));
  }
  get bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** The tokenizer.* key/value pairs of a GGUF, as their raw bytes (key, type and value), and their count. */
async function tokenizerEntries(path: string): Promise<{ bytes: Buffer; count: number }> {
  const file = await readFile(path);
  let at = 0;
  const u32 = () => {
    const v = file.readUInt32LE(at);
    at += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(file.readBigUInt64LE(at));
    at += 8;
    return v;
  };
  const string = () => {
    const length = u64();
    const s = file.toString('utf8', at, at + length);
    at += length;
    return s;
  };
  // Sizes of the fixed-width value types (GGUF's gguf_type), by id.
  const width: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
  const skip = (kind: number): void => {
    if (kind === Kind.String) string();
    else if (kind === 9) {
      const inner = u32();
      const n = u64();
      if (inner === Kind.String) for (let i = 0; i < n; i++) string();
      else at += n * (width[inner] ?? Number.NaN);
    } else at += width[kind] ?? Number.NaN;
    if (Number.isNaN(at)) throw new Error(`${path}: unknown GGUF value type ${kind}`);
  };
  if (file.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${path} is not a GGUF file`);
  at = 8; // magic, version
  u64(); // tensor count
  const entries = u64();
  const kept: Buffer[] = [];
  for (let i = 0; i < entries; i++) {
    const start = at;
    const key = string();
    skip(u32());
    if (key.startsWith('tokenizer.')) kept.push(file.subarray(start, at));
  }
  return { bytes: Buffer.concat(kept), count: kept.length };
}

interface TensorSpec {
  name: string;
  /** ggml order: the first dimension is the innermost (a row's length). */
  dims: number[];
  type: number;
  bytes: number;
}

function tensorsOf(shape: ModelShape, quant: Quant): TensorSpec[] {
  const q = QUANTS[quant];
  const kv = (shape.embedding / shape.heads) * shape.kvHeads;
  const matrix = (name: string, inner: number, outer: number): TensorSpec => ({ name, dims: [inner, outer], type: q.type, bytes: (inner / 32) * outer * q.blockBytes });
  const norm = (name: string): TensorSpec => ({ name, dims: [shape.embedding], type: F32, bytes: shape.embedding * 4 });
  const tensors = [matrix('token_embd.weight', shape.embedding, shape.vocab)];
  for (let i = 0; i < shape.layers; i++) {
    tensors.push(
      norm(`blk.${i}.attn_norm.weight`),
      matrix(`blk.${i}.attn_q.weight`, shape.embedding, shape.embedding),
      matrix(`blk.${i}.attn_k.weight`, shape.embedding, kv),
      matrix(`blk.${i}.attn_v.weight`, shape.embedding, kv),
      matrix(`blk.${i}.attn_output.weight`, shape.embedding, shape.embedding),
      norm(`blk.${i}.ffn_norm.weight`),
      matrix(`blk.${i}.ffn_gate.weight`, shape.embedding, shape.feedForward),
      matrix(`blk.${i}.ffn_up.weight`, shape.embedding, shape.feedForward),
      matrix(`blk.${i}.ffn_down.weight`, shape.feedForward, shape.embedding),
    );
  }
  tensors.push(norm('output_norm.weight'), matrix('output.weight', shape.embedding, shape.vocab));
  return tensors;
}

const align = (n: number) => Math.ceil(n / ALIGNMENT) * ALIGNMENT;

/** IEEE half precision of a small positive number (enough for a block scale). */
function fp16(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0] ?? 0;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  return ((bits >>> 16) & 0x8000) | (exponent << 10) | ((bits >>> 13) & 0x3ff);
}

/** Writes the model; returns its path and size in bytes. */
export async function writeRandomGguf(options: { shape: ModelShape; quant: Quant; out: string }): Promise<{ path: string; bytes: number }> {
  const { shape, quant, out } = options;
  const q = QUANTS[quant];
  const tokenizer = await tokenizerEntries(TOKENIZER_SOURCE);
  const tensors = tensorsOf(shape, quant);
  const head = new Writer();
  head.raw(Buffer.from('GGUF', 'latin1'));
  head.u32(3);
  head.u64(tensors.length);
  const meta = new Writer();
  const kvs: [string, Kind, number | string][] = [
    ['general.architecture', Kind.String, 'llama'],
    ['general.name', Kind.String, shape.name],
    ['general.file_type', Kind.U32, q.fileType],
    ['general.alignment', Kind.U32, ALIGNMENT],
    ['llama.context_length', Kind.U32, shape.context],
    ['llama.embedding_length', Kind.U32, shape.embedding],
    ['llama.block_count', Kind.U32, shape.layers],
    ['llama.feed_forward_length', Kind.U32, shape.feedForward],
    ['llama.rope.dimension_count', Kind.U32, shape.embedding / shape.heads],
    ['llama.attention.head_count', Kind.U32, shape.heads],
    ['llama.attention.head_count_kv', Kind.U32, shape.kvHeads],
    ['llama.attention.layer_norm_rms_epsilon', Kind.F32, 1e-5],
    ['llama.rope.freq_base', Kind.F32, 10_000],
  ];
  for (const [key, kind, value] of kvs) meta.kv(key, kind, value);
  meta.raw(tokenizer.bytes);
  head.u64(kvs.length + tokenizer.count);
  head.raw(meta.bytes);
  let offset = 0;
  for (const tensor of tensors) {
    head.string(tensor.name);
    head.u32(tensor.dims.length);
    for (const d of tensor.dims) head.u64(d);
    head.u32(tensor.type);
    head.u64(offset);
    offset = align(offset + tensor.bytes);
  }
  const header = head.bytes;
  await mkdir(dirname(out), { recursive: true });
  const file = await open(out, 'w');
  try {
    let position = 0;
    const write = async (b: Buffer) => {
      await file.write(b, 0, b.length, position);
      position += b.length;
    };
    await write(header);
    await write(Buffer.alloc(align(position) - position));
    const scale = fp16(q.scale);
    // Random blocks, written in slices of at most 16 MiB (whole blocks), each block's scale set.
    const slice = Buffer.alloc(Math.floor((16 << 20) / q.blockBytes) * q.blockBytes);
    for (const tensor of tensors) {
      const start = position;
      if (tensor.type === F32) {
        await write(Buffer.from(new Float32Array(tensor.bytes / 4).fill(1).buffer));
      } else {
        for (let left = tensor.bytes; left > 0; ) {
          const n = Math.min(left, slice.length);
          const part = slice.subarray(0, n);
          randomFillSync(part);
          for (let at = 0; at < n; at += q.blockBytes) part.writeUInt16LE(scale, at);
          await write(part);
          left -= n;
        }
      }
      await write(Buffer.alloc(align(position - start) - (position - start)));
    }
    return { path: out, bytes: position };
  } finally {
    await file.close();
  }
}

/** The default path of a model of `layers` blocks in `quant`. */
export const randomModelPath = (layers: number, quant: Quant) => resolve(import.meta.dirname, 'models', `tinyllama-shape-${layers}l-${quant}.gguf`);

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const { values } = parseArgs({ options: { layers: { type: 'string', default: String(TINYLLAMA_1_1B.layers) }, quant: { type: 'string', default: 'q4_0' }, out: { type: 'string' } } });
  const layers = Number(values.layers);
  const quant = values.quant as Quant;
  if (!Number.isInteger(layers) || layers < 1 || !(quant in QUANTS)) throw new Error('usage: random-gguf.ts [--layers N] [--quant q4_0|q8_0] [--out PATH]');
  const started = performance.now();
  const { path, bytes } = await writeRandomGguf({ shape: { ...TINYLLAMA_1_1B, layers }, quant, out: values.out ?? randomModelPath(layers, quant) });
  console.log(`${join(path)}: ${(bytes / 1_048_576).toFixed(0)} MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}
