/**
 * Small byte helpers used across protocol/ (runtime-agnostic: no Buffer, no TextEncoder typing).
 * UTF-8 is encoded and decoded here, strictly (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF), so every text field on the wire is well-formed or rejected with a ProtocolError.
 */
import { fail } from '../errors';

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
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

/** Constant-time (in the contents) equality; lengths are public. */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number);
  return d === 0;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] as number).toString(16).padStart(2, '0');
  return s;
}

export function fromHex(hex: string, field = 'hex'): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex))
    fail('malformed', field, 'an even-length hex string', hex);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Overwrites a buffer with zeros (best effort: JS engines may have copied it). */
export function wipe(...bufs: readonly (Uint8Array | undefined)[]): void {
  for (const b of bufs) b?.fill(0);
}

/** ASCII string to bytes (for fixed labels). */
export function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) fail('malformed', 'ascii', 'an ASCII string', s);
    out[i] = c;
  }
  return out;
}

interface TextCodecs {
  TextEncoder?: new () => { encode(s: string): Uint8Array };
  TextDecoder?: new (
    label: string,
    o: { fatal: boolean; ignoreBOM: boolean },
  ) => { decode(b: Uint8Array): string };
}
// Every supported runtime (Node 20, browsers, webviews) has these; the pure fallbacks below are
// the specification and are what the property tests compare against.
const codecs = globalThis as unknown as TextCodecs;
const nativeEncoder = codecs.TextEncoder ? new codecs.TextEncoder() : undefined;
const nativeDecoder = codecs.TextDecoder
  ? new codecs.TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
  : undefined;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Strict UTF-8 encoding of a JS string; lone surrogates are rejected. */
export function utf8Encode(s: string, field = 'text'): Uint8Array {
  if (nativeEncoder && !LONE_SURROGATE.test(s)) return nativeEncoder.encode(s);
  return utf8EncodePure(s, field);
}

/** Strict UTF-8 decoding (RFC 3629 §4 syntax); throws ProtocolError('malformed') naming `field`. */
export function utf8Decode(b: Uint8Array, field = 'text'): string {
  if (nativeDecoder) {
    try {
      return nativeDecoder.decode(b);
    } catch {
      // fall through: the pure decoder reports the offending offset
    }
  }
  return utf8DecodePure(b, field);
}

export function utf8EncodePure(s: string, field = 'text'): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (!(d >= 0xdc00 && d <= 0xdfff))
        fail(
          'malformed',
          field,
          'well-formed UTF-16 (paired surrogates)',
          `lone surrogate at ${i}`,
        );
      c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      fail('malformed', field, 'well-formed UTF-16 (paired surrogates)', `lone surrogate at ${i}`);
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else
      out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

export function utf8DecodePure(b: Uint8Array, field = 'text'): string {
  let s = '';
  const chunk: number[] = [];
  const bad = (i: number): never =>
    fail(
      'malformed',
      field,
      'valid UTF-8',
      `invalid byte 0x${(b[i] ?? 0).toString(16)} at offset ${i}`,
    );
  for (let i = 0; i < b.length;) {
    const x = b[i] as number;
    let cp: number;
    if (x < 0x80) {
      cp = x;
      i += 1;
    } else if (x >= 0xc2 && x <= 0xdf) {
      const y = b[i + 1];
      if (y === undefined || (y & 0xc0) !== 0x80) bad(i);
      cp = ((x & 0x1f) << 6) | ((y as number) & 63);
      i += 2;
    } else if (x >= 0xe0 && x <= 0xef) {
      const y = b[i + 1];
      const z = b[i + 2];
      if (y === undefined || z === undefined || (y & 0xc0) !== 0x80 || (z & 0xc0) !== 0x80) bad(i);
      if ((x === 0xe0 && (y as number) < 0xa0) || (x === 0xed && (y as number) > 0x9f)) bad(i);
      cp = ((x & 0x0f) << 12) | (((y as number) & 63) << 6) | ((z as number) & 63);
      i += 3;
    } else if (x >= 0xf0 && x <= 0xf4) {
      const y = b[i + 1];
      const z = b[i + 2];
      const w = b[i + 3];
      if (y === undefined || z === undefined || w === undefined) bad(i);
      if (
        ((y as number) & 0xc0) !== 0x80 ||
        ((z as number) & 0xc0) !== 0x80 ||
        ((w as number) & 0xc0) !== 0x80
      )
        bad(i);
      if ((x === 0xf0 && (y as number) < 0x90) || (x === 0xf4 && (y as number) > 0x8f)) bad(i);
      cp =
        ((x & 0x07) << 18) |
        (((y as number) & 63) << 12) |
        (((z as number) & 63) << 6) |
        ((w as number) & 63);
      i += 4;
    } else {
      return bad(i);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      chunk.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else chunk.push(cp);
    if (chunk.length >= 4096) {
      s += String.fromCharCode(...chunk);
      chunk.length = 0;
    }
  }
  return s + String.fromCharCode(...chunk);
}
