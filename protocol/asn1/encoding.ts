/**
 * Small, dependency-free byte helpers for the attestation parsers (protocol/ has no Buffer,
 * no TextDecoder and no atob). Every decoder throws only ProtocolError.
 */
import { fail } from '../errors';

const HEX = '0123456789abcdef';

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const v = b[i]!;
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/** Decodes hex (case-insensitive; whitespace and an optional 0x prefix are ignored). */
export function fromHex(text: string, field = 'hex'): Uint8Array {
  let t = text.replace(/\s+/g, '');
  if (t.startsWith('0x') || t.startsWith('0X')) t = t.slice(2);
  if (t.length % 2 !== 0) fail('malformed', field, 'an even number of hex digits', t.length);
  if (!/^[0-9a-fA-F]*$/.test(t))
    fail('malformed', field, 'hex digits only', t.replace(/[0-9a-fA-F]/g, '').slice(0, 8));
  const out = new Uint8Array(t.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(t.slice(2 * i, 2 * i + 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INV = (() => {
  const t = new Int16Array(128).fill(-1);
  for (let i = 0; i < 64; i++) t[B64.charCodeAt(i)] = i;
  t['-'.charCodeAt(0)] = 62; // base64url
  t['_'.charCodeAt(0)] = 63;
  return t;
})();

/** Decodes base64 or base64url, padded or not; whitespace is ignored. */
export function fromBase64(text: string, field = 'base64'): Uint8Array {
  const t = text.replace(/\s+/g, '').replace(/=+$/, '');
  if (t.length % 4 === 1)
    fail('malformed', field, 'a base64 length (mod 4) of 0, 2 or 3', t.length % 4);
  const out = new Uint8Array(Math.floor((t.length * 3) / 4));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    const v = c < 128 ? B64_INV[c]! : -1;
    if (v < 0) fail('malformed', field, 'base64 characters only', t[i]);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  return out;
}

export function toBase64(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i += 3) {
    const n = (b[i]! << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
    s += B64[(n >> 18) & 63]! + B64[(n >> 12) & 63]!;
    s += i + 1 < b.length ? B64[(n >> 6) & 63]! : '=';
    s += i + 2 < b.length ? B64[n & 63]! : '=';
  }
  return s;
}

/** Strict UTF-8 decoding (rejects overlongs, surrogates and truncated sequences). */
export function utf8Decode(b: Uint8Array, field = 'utf8'): string {
  let s = '';
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
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
      return fail('malformed', field, 'valid UTF-8', `byte 0x${c.toString(16)} at ${i}`);
    }
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k];
      if (cc === undefined || (cc & 0xc0) !== 0x80)
        fail('malformed', field, 'valid UTF-8', `bad continuation at ${i + k}`);
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (
      (n === 2 && cp < 0x800) ||
      (n === 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff)
    ) {
      fail('malformed', field, 'valid UTF-8', `invalid code point at ${i}`);
    }
    s += String.fromCodePoint(cp);
    i += n + 1;
  }
  return s;
}

export function utf8Encode(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) out.push(cp);
    else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
    else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
    else
      out.push(
        0xf0 | (cp >> 18),
        0x80 | ((cp >> 12) & 63),
        0x80 | ((cp >> 6) & 63),
        0x80 | (cp & 63),
      );
  }
  return Uint8Array.from(out);
}

export function latin1Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
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
  let d = 0;
  for (let i = 0; i < b.length; i++) d |= b[i]!;
  return d === 0;
}
