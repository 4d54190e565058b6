/**
 * Bounded binary Reader / Writer over Uint8Array. All integers are big-endian (network order).
 * Variable-length fields are length-prefixed vectors (`vec8`, `vec16`, `vec32`: a u8/u16/u32
 * length, then that many bytes), each with an explicit maximum. The Reader throws only
 * ProtocolError: 'truncated' (input ended inside a field), 'too_large' (a length exceeds the
 * field's limit), 'trailing_bytes' (`end()` with data left), 'malformed'; the message names the
 * field and both values.
 */
import { fail } from '../errors';
import { utf8Decode, utf8Encode } from './bytes';

export class Reader {
  readonly #buf: Uint8Array;
  #off = 0;
  /** Prefix for field names in errors, e.g. "ClientHello". */
  readonly context: string;
  constructor(buf: Uint8Array, context: string) {
    if (!(buf instanceof Uint8Array)) fail('malformed', context, 'a Uint8Array', typeof buf);
    this.#buf = buf;
    this.context = context;
  }
  get offset(): number {
    return this.#off;
  }
  get remaining(): number {
    return this.#buf.length - this.#off;
  }
  #name(field: string): string {
    return `${this.context}.${field}`;
  }
  #need(n: number, field: string): void {
    if (this.remaining < n)
      fail(
        'truncated',
        this.#name(field),
        `${n} more bytes at offset ${this.#off}`,
        `${this.remaining}`,
      );
  }
  u8(field: string): number {
    this.#need(1, field);
    return this.#buf[this.#off++] as number;
  }
  u16(field: string): number {
    this.#need(2, field);
    const b = this.#buf;
    const o = this.#off;
    this.#off += 2;
    return ((b[o] as number) << 8) | (b[o + 1] as number);
  }
  u32(field: string): number {
    this.#need(4, field);
    const b = this.#buf;
    const o = this.#off;
    this.#off += 4;
    return (
      ((b[o] as number) * 0x1000000 +
        (((b[o + 1] as number) << 16) | ((b[o + 2] as number) << 8) | (b[o + 3] as number))) >>>
      0
    );
  }
  u64(field: string): bigint {
    const hi = this.u32(field);
    const lo = this.u32(field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  /** IEEE 754 binary64, big-endian; only finite values are accepted. */
  f64(field: string): number {
    const b = this.bytes(8, field);
    const v = new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, false);
    if (!Number.isFinite(v)) fail('malformed', this.#name(field), 'a finite number', v);
    return v;
  }
  /** A fixed-size field; returns a view (no copy). */
  bytes(n: number, field: string): Uint8Array {
    this.#need(n, field);
    const out = this.#buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }
  /** The rest of the input; returns a view. */
  rest(): Uint8Array {
    const out = this.#buf.subarray(this.#off);
    this.#off = this.#buf.length;
    return out;
  }
  #vec(len: number, field: string, max: number): Uint8Array {
    if (len > max) fail('too_large', this.#name(field), `at most ${max} bytes`, `${len} bytes`);
    return this.bytes(len, field);
  }
  vec8(field: string, max = 0xff): Uint8Array {
    return this.#vec(this.u8(field), field, max);
  }
  vec16(field: string, max = 0xffff): Uint8Array {
    return this.#vec(this.u16(field), field, max);
  }
  vec32(field: string, max: number): Uint8Array {
    return this.#vec(this.u32(field), field, max);
  }
  /** A vec8/vec16 holding strict UTF-8. */
  str8(field: string, max = 0xff): string {
    return utf8Decode(this.vec8(field, max), this.#name(field));
  }
  str16(field: string, max = 0xffff): string {
    return utf8Decode(this.vec16(field, max), this.#name(field));
  }
  str32(field: string, max: number): string {
    return utf8Decode(this.vec32(field, max), this.#name(field));
  }
  /** A u8 that must equal one of `allowed`. */
  enum8<T extends number>(field: string, allowed: readonly T[]): T {
    const v = this.u8(field);
    if (!allowed.includes(v as T))
      fail('malformed', this.#name(field), `one of ${allowed.join(', ')}`, v);
    return v as T;
  }
  /** Asserts the input is fully consumed. */
  end(): void {
    if (this.remaining !== 0)
      fail(
        'trailing_bytes',
        this.context,
        'end of message',
        `${this.remaining} more bytes at offset ${this.#off}`,
      );
  }
}

export class Writer {
  #buf: Uint8Array;
  #len = 0;
  readonly context: string;
  constructor(context: string, initial = 256) {
    this.context = context;
    this.#buf = new Uint8Array(initial);
  }
  get length(): number {
    return this.#len;
  }
  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.#buf.subarray(0, this.#len));
    this.#buf = nb;
  }
  #int(v: number, max: number, field: string): void {
    if (!Number.isInteger(v) || v < 0 || v > max)
      fail('too_large', `${this.context}.${field}`, `an integer in 0..${max}`, v);
  }
  u8(v: number, field = 'u8'): this {
    this.#int(v, 0xff, field);
    this.#ensure(1);
    this.#buf[this.#len++] = v;
    return this;
  }
  u16(v: number, field = 'u16'): this {
    this.#int(v, 0xffff, field);
    this.#ensure(2);
    this.#buf[this.#len++] = v >>> 8;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }
  u32(v: number, field = 'u32'): this {
    this.#int(v, 0xffffffff, field);
    this.#ensure(4);
    this.#buf[this.#len++] = v >>> 24;
    this.#buf[this.#len++] = (v >>> 16) & 0xff;
    this.#buf[this.#len++] = (v >>> 8) & 0xff;
    this.#buf[this.#len++] = v & 0xff;
    return this;
  }
  u64(v: bigint, field = 'u64'): this {
    if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn)
      fail('too_large', `${this.context}.${field}`, 'a u64', v);
    this.u32(Number(v >> 32n), field);
    return this.u32(Number(v & 0xffffffffn), field);
  }
  f64(v: number, field = 'f64'): this {
    if (typeof v !== 'number' || !Number.isFinite(v))
      fail('malformed', `${this.context}.${field}`, 'a finite number', v);
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, false);
    return this.bytes(b, field);
  }
  bytes(b: Uint8Array, field = 'bytes', len?: number): this {
    if (len !== undefined && b.length !== len)
      fail('bad_length', `${this.context}.${field}`, `${len} bytes`, `${b.length} bytes`);
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
    return this;
  }
  #vec(b: Uint8Array, field: string, max: number): void {
    if (b.length > max)
      fail('too_large', `${this.context}.${field}`, `at most ${max} bytes`, `${b.length} bytes`);
  }
  vec8(b: Uint8Array, field: string, max = 0xff): this {
    this.#vec(b, field, Math.min(max, 0xff));
    return this.u8(b.length, field).bytes(b, field);
  }
  vec16(b: Uint8Array, field: string, max = 0xffff): this {
    this.#vec(b, field, Math.min(max, 0xffff));
    return this.u16(b.length, field).bytes(b, field);
  }
  vec32(b: Uint8Array, field: string, max: number): this {
    this.#vec(b, field, Math.min(max, 0xffffffff));
    return this.u32(b.length, field).bytes(b, field);
  }
  str8(s: string, field: string, max = 0xff): this {
    return this.vec8(utf8Encode(s, `${this.context}.${field}`), field, max);
  }
  str32(s: string, field: string, max: number): this {
    return this.vec32(utf8Encode(s, `${this.context}.${field}`), field, max);
  }
  str16(s: string, field: string, max = 0xffff): this {
    return this.vec16(utf8Encode(s, `${this.context}.${field}`), field, max);
  }
  /** The encoded bytes (a copy trimmed to length). */
  finish(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
