/**
 * Small byte helpers for the TDX parsers (pure: no Buffer, no TextDecoder, so they run in every
 * runtime the protocol layer targets). Every failure is a ProtocolError naming the field.
 */
import { fail } from '../../errors';

export function toHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** Parses an even-length hex string (either case, no prefix). */
export function fromHex(hex: string, field: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    fail('malformed', field, 'hex string of even length', hex);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}

/** Strict UTF-8 decoder (rejects overlong forms, surrogates and truncated sequences). */
export function utf8Decode(b: Uint8Array, field: string): string {
  let s = '';
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    let cp: number;
    let n: number;
    if (c < 0x80) {
      cp = c;
      n = 0;
    } else if (c >= 0xc2 && c < 0xe0) {
      cp = c & 0x1f;
      n = 1;
    } else if (c >= 0xe0 && c < 0xf0) {
      cp = c & 0x0f;
      n = 2;
    } else if (c >= 0xf0 && c < 0xf5) {
      cp = c & 0x07;
      n = 3;
    } else {
      return fail('malformed', field, 'UTF-8 text', `byte 0x${c.toString(16)} at offset ${i}`);
    }
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80)
        fail('malformed', field, 'UTF-8 text', `bad continuation at offset ${i + k}`);
      cp = (cp << 6) | (cc & 0x3f);
    }
    const min = n === 0 ? 0 : n === 1 ? 0x80 : n === 2 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      fail('malformed', field, 'UTF-8 text', `invalid code point at offset ${i}`);
    }
    s += String.fromCodePoint(cp);
    i += n + 1;
  }
  return s;
}

export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
    else if (cp < 0x10000)
      out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
    else
      out.push(
        0xf0 | (cp >> 18),
        0x80 | ((cp >> 12) & 0x3f),
        0x80 | ((cp >> 6) & 0x3f),
        0x80 | (cp & 0x3f),
      );
  }
  return Uint8Array.from(out);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (padding optional, whitespace ignored). */
export function base64Decode(text: string, field: string): Uint8Array {
  const clean = text.replace(/[\s]/g, '').replace(/=+$/, '');
  if (clean.length % 4 === 1) fail('malformed', field, 'base64', `length ${clean.length}`);
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < clean.length; i++) {
    const v = B64.indexOf(clean.charAt(i));
    if (v < 0)
      fail(
        'malformed',
        field,
        'base64 alphabet',
        `character ${JSON.stringify(clean.charAt(i))} at ${i}`,
      );
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, o);
}

/**
 * Splits PEM text into the DER bodies of its `-----BEGIN <label>-----` blocks (in order).
 * Text outside the blocks (and a trailing NUL, which DCAP quotes carry) is ignored.
 */
export function pemBlocks(text: string, label: string, field: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  let pos = 0;
  for (;;) {
    const b = text.indexOf(begin, pos);
    if (b < 0) break;
    const e = text.indexOf(end, b + begin.length);
    if (e < 0) fail('malformed', field, `"${end}"`, 'end of text');
    out.push(base64Decode(text.slice(b + begin.length, e), field));
    pos = e + end.length;
  }
  return out;
}

/** Bounds-checked little-endian reader over a byte string. */
export class ByteReader {
  constructor(
    readonly bytes: Uint8Array,
    readonly what: string,
  ) {}

  need(offset: number, length: number, field: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.length) {
      fail(
        'truncated',
        `${this.what}.${field}`,
        `${offset + length} bytes`,
        `${this.bytes.length} bytes`,
      );
    }
  }

  u8(offset: number, field: string): number {
    this.need(offset, 1, field);
    return this.bytes[offset] ?? 0;
  }

  u16(offset: number, field: string): number {
    this.need(offset, 2, field);
    return (this.bytes[offset] ?? 0) | ((this.bytes[offset + 1] ?? 0) << 8);
  }

  u32(offset: number, field: string): number {
    this.need(offset, 4, field);
    return (
      ((this.bytes[offset] ?? 0) |
        ((this.bytes[offset + 1] ?? 0) << 8) |
        ((this.bytes[offset + 2] ?? 0) << 16) |
        ((this.bytes[offset + 3] ?? 0) << 24)) >>>
      0
    );
  }

  /** A copy of `length` bytes at `offset` (copies so callers can keep slices of mutable input). */
  take(offset: number, length: number, field: string): Uint8Array {
    this.need(offset, length, field);
    return this.bytes.slice(offset, offset + length);
  }
}
