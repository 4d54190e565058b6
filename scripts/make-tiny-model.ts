/**
 * Generates a tiny random-weights llama model in GGUF v3 with a ChatML chat template and a
 * byte-level vocabulary (256 byte tokens + <unk>, <s>, </s>, <|im_start|>, <|im_end|>).
 * 2 layers, width 64, 4 heads, FFN 256, F32 weights: ≈ 0.6 MB. node-llama-cpp loads it and
 * picks its ChatML wrapper from the template; the output is random bytes, which is all the tests
 * and the offline demo need (the full attested, encrypted path with a real chat template).
 *
 * Deterministic: the same seed gives the same bytes (so its SHA-256 is stable).
 *
 * Usage: node --import tsx scripts/make-tiny-model.ts [OUT.gguf] [--seed N]
 * GGUF layout: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
 */
import { mkdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** GGUF metadata value types (gguf.md, `gguf_metadata_value_type`). */
const T_UINT32 = 4;
const T_INT32 = 5;
const T_FLOAT32 = 6;
const T_BOOL = 7;
const T_STRING = 8;
const T_ARRAY = 9;
/** ggml tensor type F32. */
const GGML_TYPE_F32 = 0;
const ALIGNMENT = 32;

/** Token types (llama.cpp `llama_token_type`). */
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

export const TINY_CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyModelOptions {
  seed?: number;
  layers?: number;
  width?: number;
  heads?: number;
  ffn?: number;
  contextLength?: number;
}

type Meta =
  | { t: 'u32'; v: number }
  | { t: 'i32'; v: number }
  | { t: 'f32'; v: number }
  | { t: 'bool'; v: boolean }
  | { t: 'str'; v: string }
  | { t: 'str[]'; v: string[] }
  | { t: 'f32[]'; v: number[] }
  | { t: 'i32[]'; v: number[] };

class Writer {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): void {
    this.chunks.push(b);
    this.length += b.length;
  }
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.push(b);
  }
  i32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    this.push(b);
  }
  u64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.push(b);
  }
  f32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.push(b);
  }
  u8(v: number): void {
    this.push(Uint8Array.of(v));
  }
  str(s: string): void {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.push(b);
  }
  bytes(b: Uint8Array): void {
    this.push(b);
  }
  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.push(new Uint8Array(pad));
  }
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** xorshift32 → uniform floats in [-1, 1); deterministic per seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x80000000 - 1;
  };
}

export function tinyVocab(): { tokens: string[]; scores: number[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL];
  for (let b = 0; b < 256; b++) {
    tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_BYTE);
  }
  tokens.push('<|im_start|>', '<|im_end|>');
  types.push(TOKEN_CONTROL, TOKEN_CONTROL);
  // One normal token so the vocabulary is not bytes-only for the SPM merge step (a space).
  tokens.push('▁');
  types.push(TOKEN_NORMAL);
  return { tokens, scores: tokens.map(() => 0), types };
}

/** Builds the GGUF file in memory. */
export function makeTinyChatModel(opts: TinyModelOptions = {}): Uint8Array {
  const seed = opts.seed ?? 1;
  const nLayer = opts.layers ?? 2;
  const nEmbd = opts.width ?? 64;
  const nHead = opts.heads ?? 4;
  const nFf = opts.ffn ?? 256;
  const nCtx = opts.contextLength ?? 4096;
  const vocab = tinyVocab();
  const nVocab = vocab.tokens.length;
  const imEnd = vocab.tokens.indexOf('<|im_end|>');

  const meta: [string, Meta][] = [
    ['general.architecture', { t: 'str', v: 'llama' }],
    ['general.name', { t: 'str', v: `teechat-tiny-chatml-random-s${seed}` }],
    ['general.alignment', { t: 'u32', v: ALIGNMENT }],
    ['llama.context_length', { t: 'u32', v: nCtx }],
    ['llama.embedding_length', { t: 'u32', v: nEmbd }],
    ['llama.block_count', { t: 'u32', v: nLayer }],
    ['llama.feed_forward_length', { t: 'u32', v: nFf }],
    ['llama.attention.head_count', { t: 'u32', v: nHead }],
    ['llama.attention.head_count_kv', { t: 'u32', v: nHead }],
    ['llama.attention.layer_norm_rms_epsilon', { t: 'f32', v: 1e-5 }],
    ['llama.rope.dimension_count', { t: 'u32', v: nEmbd / nHead }],
    ['llama.rope.freq_base', { t: 'f32', v: 10000 }],
    ['llama.vocab_size', { t: 'u32', v: nVocab }],
    ['tokenizer.ggml.model', { t: 'str', v: 'llama' }],
    ['tokenizer.ggml.tokens', { t: 'str[]', v: vocab.tokens }],
    ['tokenizer.ggml.scores', { t: 'f32[]', v: vocab.scores }],
    ['tokenizer.ggml.token_type', { t: 'i32[]', v: vocab.types }],
    ['tokenizer.ggml.unknown_token_id', { t: 'u32', v: 0 }],
    ['tokenizer.ggml.bos_token_id', { t: 'u32', v: 1 }],
    ['tokenizer.ggml.eos_token_id', { t: 'u32', v: imEnd }],
    ['tokenizer.ggml.add_bos_token', { t: 'bool', v: false }],
    ['tokenizer.ggml.add_eos_token', { t: 'bool', v: false }],
    ['tokenizer.ggml.add_space_prefix', { t: 'bool', v: false }],
    ['tokenizer.chat_template', { t: 'str', v: TINY_CHATML_TEMPLATE }],
  ];

  // Tensor shapes in ggml order (ne[0] = the input / innermost dimension).
  const tensors: { name: string; dims: number[]; init: 'ones' | 'rand' }[] = [
    { name: 'token_embd.weight', dims: [nEmbd, nVocab], init: 'rand' },
    { name: 'output_norm.weight', dims: [nEmbd], init: 'ones' },
    { name: 'output.weight', dims: [nEmbd, nVocab], init: 'rand' },
  ];
  for (let i = 0; i < nLayer; i++) {
    tensors.push(
      { name: `blk.${i}.attn_norm.weight`, dims: [nEmbd], init: 'ones' },
      { name: `blk.${i}.attn_q.weight`, dims: [nEmbd, nEmbd], init: 'rand' },
      { name: `blk.${i}.attn_k.weight`, dims: [nEmbd, nEmbd], init: 'rand' },
      { name: `blk.${i}.attn_v.weight`, dims: [nEmbd, nEmbd], init: 'rand' },
      { name: `blk.${i}.attn_output.weight`, dims: [nEmbd, nEmbd], init: 'rand' },
      { name: `blk.${i}.ffn_norm.weight`, dims: [nEmbd], init: 'ones' },
      { name: `blk.${i}.ffn_gate.weight`, dims: [nEmbd, nFf], init: 'rand' },
      { name: `blk.${i}.ffn_up.weight`, dims: [nEmbd, nFf], init: 'rand' },
      { name: `blk.${i}.ffn_down.weight`, dims: [nFf, nEmbd], init: 'rand' },
    );
  }

  const w = new Writer();
  w.bytes(new TextEncoder().encode('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(meta.length);
  for (const [key, m] of meta) {
    w.str(key);
    switch (m.t) {
      case 'u32':
        w.u32(T_UINT32);
        w.u32(m.v);
        break;
      case 'i32':
        w.u32(T_INT32);
        w.i32(m.v);
        break;
      case 'f32':
        w.u32(T_FLOAT32);
        w.f32(m.v);
        break;
      case 'bool':
        w.u32(T_BOOL);
        w.u8(m.v ? 1 : 0);
        break;
      case 'str':
        w.u32(T_STRING);
        w.str(m.v);
        break;
      case 'str[]':
        w.u32(T_ARRAY);
        w.u32(T_STRING);
        w.u64(m.v.length);
        for (const s of m.v) w.str(s);
        break;
      case 'f32[]':
        w.u32(T_ARRAY);
        w.u32(T_FLOAT32);
        w.u64(m.v.length);
        for (const f of m.v) w.f32(f);
        break;
      case 'i32[]':
        w.u32(T_ARRAY);
        w.u32(T_INT32);
        w.u64(m.v.length);
        for (const n of m.v) w.i32(n);
        break;
    }
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    const size = t.dims.reduce((a, b) => a * b, 1) * 4;
    sizes.push(size);
    offset += Math.ceil(size / ALIGNMENT) * ALIGNMENT;
  }
  w.padTo(ALIGNMENT);
  const next = rng(seed);
  tensors.forEach((t, i) => {
    const n = (sizes[i] ?? 0) / 4;
    const data = new Float32Array(n);
    // Scale ~ 1/sqrt(fan_in) keeps activations finite through the 2 layers.
    const scale = 1 / Math.sqrt(t.dims[0] ?? 1);
    for (let j = 0; j < n; j++) data[j] = t.init === 'ones' ? 1 : next() * scale;
    if (t.name === 'output.weight') {
      // Only printable ASCII (and the space token) get logits; every other row is zero, so a
      // greedy or sampled answer is readable characters rather than control bytes.
      for (let tok = 0; tok < nVocab; tok++) {
        const text = vocab.tokens[tok] ?? '';
        const byte = /^<0x([0-9A-F]{2})>$/.exec(text);
        const b = byte ? parseInt(byte[1] ?? '0', 16) : -1;
        const readable = (b >= 0x20 && b <= 0x7e) || text === '▁';
        if (!readable) data.fill(0, tok * nEmbd, (tok + 1) * nEmbd);
      }
    }
    w.bytes(new Uint8Array(data.buffer));
    w.padTo(ALIGNMENT);
  });
  return w.finish();
}

/** Writes the model to `path` unless it already exists (atomic rename); returns the path. */
export function ensureTinyChatModel(path: string, opts: TinyModelOptions = {}): string {
  if (existsSync(path)) return path;
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, makeTinyChatModel(opts));
  renameSync(tmp, path);
  return path;
}

const isMain =
  process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(
      'usage: node --import tsx scripts/make-tiny-model.ts [OUT.gguf] [--seed N]\n' +
        'Writes a tiny random-weights ChatML llama GGUF (2 layers, width 64, byte vocabulary).\n',
    );
    process.exit(0);
  }
  const si = args.indexOf('--seed');
  const seed = si >= 0 ? Number(args[si + 1]) : 1;
  const out =
    args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--seed') ??
    '.cache/tiny-chatml.gguf';
  const bytes = makeTinyChatModel({ seed });
  mkdirSync(dirname(resolve(out)), { recursive: true });
  writeFileSync(out, bytes);
  process.stderr.write(`wrote ${out} (${bytes.length} bytes)\n`);
  process.stdout.write(`${resolve(out)}\n`);
}
