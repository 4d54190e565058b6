/**
 * The one place for text and byte encodings in protocol/ (pure: no Buffer, no DOM typings): hex,
 * UTF-8, base64/base64url and PEM, plus the byte helpers every parser shares. Hex and byte
 * concatenation are @noble/hashes/utils; UTF-8 is the runtime's TextEncoder/TextDecoder with
 * `fatal: true`. Every decoder throws only ProtocolError('malformed') naming the field.
 *
 * One behaviour everywhere (test/unit/encoding.test.ts):
 * - hex is strict: an even number of [0-9a-fA-F], no whitespace, no 0x prefix;
 * - UTF-8 is strict both ways (RFC 3629): lone surrogates are rejected when encoding, overlongs,
 *   surrogates, truncated sequences and code points above U+10FFFF when decoding;
 * - base64 and base64url are separate alphabets; padding is optional but must be right, the unused
 *   bits of the last character must be zero, ASCII whitespace is skipped (PEM line breaks);
 * - a PEM block without its END line throws.
 */
import {
  bytesToHex,
  concatBytes as nobleConcat,
  hexToBytes,
  utf8ToBytes,
} from '@noble/hashes/utils.js';
import { fail } from './errors';

export function toHex(b: Uint8Array): string {
  return bytesToHex(b);
}

/** True for an even-length string of hex digits (the only form fromHex accepts). */
export function isHex(s: string): boolean {
  return s.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(s);
}

/** Strict hex decoding; throws ProtocolError('malformed') naming `field`. */
export function fromHex(hex: string, field = 'hex'): Uint8Array {
  if (!isHex(hex))
    fail(
      'malformed',
      field,
      'an even-length hex string',
      hex.length > 80 ? `${hex.length} chars` : hex,
    );
  return hexToBytes(hex);
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  return nobleConcat(...parts);
}

/** Constant-time (in the contents) equality; lengths are public. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function isAllZero(b: Uint8Array): boolean {
  let d = 0;
  for (let i = 0; i < b.length; i++) d |= b[i]!;
  return d === 0;
}

interface TextCodecs {
  TextDecoder: new (
    label: string,
    o: { fatal: boolean; ignoreBOM: boolean },
  ) => { decode(b: Uint8Array): string };
}
// Every supported runtime (Node 20+, browsers, VS Code webviews) has TextDecoder.
const decoder = new (globalThis as unknown as TextCodecs).TextDecoder('utf-8', {
  fatal: true,
  ignoreBOM: true,
});
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Strict UTF-8 encoding of a JS string; a lone surrogate is a ProtocolError naming `field`. */
export function utf8Encode(s: string, field = 'text'): Uint8Array {
  const m = LONE_SURROGATE.exec(s);
  if (m)
    fail(
      'malformed',
      field,
      'well-formed UTF-16 (paired surrogates)',
      `lone surrogate at ${m.index}`,
    );
  return utf8ToBytes(s);
}

/** Strict UTF-8 decoding (RFC 3629 §4); throws ProtocolError('malformed') naming `field`. */
export function utf8Decode(b: Uint8Array, field = 'text'): string {
  try {
    return decoder.decode(b);
  } catch {
    return fail('malformed', field, 'valid UTF-8', `an invalid sequence in ${b.length} bytes`);
  }
}

/** Bytes as Latin-1 code points (0..255), for DER string types and PEM sniffing; never throws. */
export function latin1Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 4096)
    s += String.fromCharCode(...b.subarray(i, Math.min(b.length, i + 4096)));
  return s;
}

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = STD.slice(0, 62) + '-_';
const inverse = (alphabet: string): Int8Array => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
};
const STD_INV = inverse(STD);
const URL_INV = inverse(URL);

function decode64(text: string, inv: Int8Array, field: string, what: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let n = 0; // alphabet characters seen
  let pad = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) continue;
    if (c === 61) {
      pad++;
      continue;
    }
    const v = c < 128 ? inv[c]! : -1;
    if (v < 0 || pad > 0)
      fail('malformed', field, `${what} characters only`, pad > 0 ? 'data after padding' : text[i]);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    n++;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (n % 4 === 1) fail('malformed', field, `a ${what} length (mod 4) of 0, 2 or 3`, 1);
  if (pad !== 0 && (n + pad) % 4 !== 0)
    fail('malformed', field, `${what} padding to 4`, `${pad} '='`);
  if (acc & ((1 << bits) - 1))
    fail('malformed', field, `canonical ${what} (zero unused bits)`, 'non-zero');
  return o === out.length ? out : out.slice(0, o);
}

function encode64(b: Uint8Array, alphabet: string, padded: boolean): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]!;
    if (i + 1 < b.length) s += alphabet[(n >> 6) & 63]!;
    else if (padded) s += '=';
    if (i + 2 < b.length) s += alphabet[n & 63]!;
    else if (padded) s += '=';
  }
  return s;
}

/** RFC 4648 §4 base64 (standard alphabet; padding optional; whitespace skipped). */
export function fromBase64(text: string, field = 'base64'): Uint8Array {
  return decode64(text, STD_INV, field, 'base64');
}

/** RFC 4648 §5 base64url (URL-safe alphabet; padding optional; whitespace skipped). */
export function fromBase64url(text: string, field = 'base64url'): Uint8Array {
  return decode64(text, URL_INV, field, 'base64url');
}

export function toBase64(b: Uint8Array): string {
  return encode64(b, STD, true);
}

/** base64url without padding (JWS/JWK form). */
export function toBase64url(b: Uint8Array): string {
  return encode64(b, URL, false);
}

/**
 * The DER bodies of the `-----BEGIN <label>-----` blocks of a PEM text (RFC 7468), in order.
 * Text outside the blocks (and a trailing NUL, which DCAP quotes carry) is ignored; a block
 * without its END line throws. indexOf rather than a regex: a fresh process runs a regex in V8's
 * interpreter first, which costs ~0.1 ms per pinned certificate on the cold verification path.
 */
export function pemBlocks(
  text: string,
  label = 'CERTIFICATE',
  field = `PEM ${label}`,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  for (let b = text.indexOf(begin); b !== -1;) {
    const e = text.indexOf(end, b + begin.length);
    if (e < 0) fail('malformed', field, end, 'end of text');
    out.push(fromBase64(text.slice(b + begin.length, e), field));
    b = text.indexOf(begin, e + end.length);
  }
  return out;
}
