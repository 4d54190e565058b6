/**
 * A strict DER reader (ITU-T X.690 §8 and §10): definite lengths only, minimal length
 * encodings, bounded nesting depth. It works on subarrays of the input (no copies) and
 * throws only `ProtocolError` with the code given by the caller (default `x509_parse`), so
 * every parser built on it inherits the "typed errors only" property.
 */
import { ProtocolError } from '../errors';
import type { ProtocolErrorCode } from '../errors';
import { latin1Decode, utf8Decode } from './encoding';

/** Universal tags (X.690 §8.x). The value is the complete identifier octet. */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8String: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  NumericString: 0x12,
  PrintableString: 0x13,
  TeletexString: 0x14,
  IA5String: 0x16,
  UTCTime: 0x17,
  GeneralizedTime: 0x18,
  VisibleString: 0x1a,
  UniversalString: 0x1c,
  BMPString: 0x1e,
} as const;

/** Context-specific tag `[n]`, constructed (EXPLICIT, or IMPLICIT of a constructed type). */
export const ctx = (n: number): number => 0xa0 | n;
/** Context-specific tag `[n]`, primitive (IMPLICIT of a primitive type). */
export const ctxPrim = (n: number): number => 0x80 | n;

/** Maximum nesting depth `children()` will descend (certificates need < 12). */
export const MAX_DEPTH = 32;

/** One tag-length-value element. `raw` is the whole encoding, `value` the contents octets. */
export interface Tlv {
  /** Identifier octet (for high tag numbers: 0x1f | class/constructed bits; see `tagNumber`). */
  readonly tag: number;
  readonly tagNumber: number;
  readonly constructed: boolean;
  /** Offset of the element in the buffer it was read from. */
  readonly offset: number;
  readonly raw: Uint8Array;
  readonly value: Uint8Array;
  readonly depth: number;
}

function err(code: ProtocolErrorCode, field: string, expected: string, actual: string): never {
  throw new ProtocolError(code, `${field}: expected ${expected}, got ${actual}`, field);
}

/** Reads the TLV at `offset` of `buf`. */
export function readTlv(
  buf: Uint8Array,
  offset: number,
  field = 'der',
  code: ProtocolErrorCode = 'x509_parse',
  depth = 0,
): Tlv {
  let p = offset;
  const b0 = buf[p++];
  if (b0 === undefined) err(code, field, 'a DER element', `end of input at offset ${offset}`);
  let tagNumber = b0 & 0x1f;
  if (tagNumber === 0x1f) {
    // High-tag-number form: base-128, minimal, at most 4 octets.
    tagNumber = 0;
    for (let k = 0; ; k++) {
      const t = buf[p++];
      if (t === undefined) err(code, field, 'a complete tag', `end of input at offset ${p - 1}`);
      if (k === 0 && t === 0x80) err(code, field, 'a minimal tag encoding', 'leading 0x80');
      if (k >= 4) err(code, field, 'a tag number below 2^28', 'a longer tag');
      tagNumber = (tagNumber << 7) | (t & 0x7f);
      if ((t & 0x80) === 0) break;
    }
    if (tagNumber < 0x1f)
      err(code, field, 'a minimal tag encoding', `high form for tag ${tagNumber}`);
  }
  const l0 = buf[p++];
  if (l0 === undefined) err(code, field, 'a length octet', `end of input at offset ${p - 1}`);
  let len: number;
  if (l0 < 0x80) {
    len = l0;
  } else if (l0 === 0x80) {
    return err(code, field, 'a definite length (DER)', 'indefinite length');
  } else {
    const n = l0 & 0x7f;
    if (n > 4) err(code, field, 'a length of at most 4 octets', `${n} octets`);
    len = 0;
    for (let k = 0; k < n; k++) {
      const v = buf[p++];
      if (v === undefined) err(code, field, 'a complete length', `end of input at offset ${p - 1}`);
      if (k === 0 && v === 0) err(code, field, 'a minimal length encoding', 'a leading zero octet');
      len = len * 256 + v;
    }
    if (len < 0x80) err(code, field, 'a minimal length encoding', `long form for length ${len}`);
  }
  const end = p + len;
  if (end > buf.length)
    err(code, field, `${len} content bytes at offset ${p}`, `${buf.length - p} available`);
  return {
    tag: b0,
    tagNumber,
    constructed: (b0 & 0x20) !== 0,
    offset,
    raw: buf.subarray(offset, end),
    value: buf.subarray(p, end),
    depth,
  };
}

/** Reads exactly one element spanning the whole buffer. */
export function parseDer(
  buf: Uint8Array,
  field = 'der',
  code: ProtocolErrorCode = 'x509_parse',
): Tlv {
  const t = readTlv(buf, 0, field, code);
  if (t.raw.length !== buf.length)
    err(code, field, 'one DER element', `${buf.length - t.raw.length} trailing bytes`);
  return t;
}

/** The elements inside a constructed element. */
export function children(t: Tlv, field = 'der', code: ProtocolErrorCode = 'x509_parse'): Tlv[] {
  if (!t.constructed)
    err(code, field, 'a constructed element', `primitive tag 0x${t.tag.toString(16)}`);
  if (t.depth + 1 > MAX_DEPTH) err(code, field, `nesting depth <= ${MAX_DEPTH}`, `${t.depth + 1}`);
  const out: Tlv[] = [];
  let p = 0;
  while (p < t.value.length) {
    const c = readTlv(t.value, p, field, code, t.depth + 1);
    out.push(c);
    p += c.raw.length;
  }
  return out;
}

export function expectTag(
  t: Tlv | undefined,
  tag: number,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): Tlv {
  if (t === undefined)
    return err(code, field, `tag 0x${tag.toString(16)}`, 'nothing (element missing)');
  if (t.tag !== tag) err(code, field, `tag 0x${tag.toString(16)}`, `tag 0x${t.tag.toString(16)}`);
  return t;
}

/** Children of a SEQUENCE (or SET / constructed context tag) with the expected tag. */
export function seq(
  t: Tlv | undefined,
  field: string,
  tag: number = Tag.SEQUENCE,
  code: ProtocolErrorCode = 'x509_parse',
): Tlv[] {
  return children(expectTag(t, tag, field, code), field, code);
}

/** Dotted-decimal OID from an OBJECT IDENTIFIER element. */
export function readOid(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): string {
  const v = expectTag(t, Tag.OID, field, code).value;
  if (v.length === 0) err(code, field, 'a non-empty OID', 'empty');
  const arcs: number[] = [];
  let acc = 0;
  let started = false;
  for (let i = 0; i < v.length; i++) {
    const b = v[i]!;
    if (!started && b === 0x80) err(code, field, 'a minimal OID arc encoding', 'leading 0x80');
    started = true;
    if (acc > 0x1ffffff) err(code, field, 'OID arcs below 2^32', 'a larger arc');
    acc = acc * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(acc);
      acc = 0;
      started = false;
    }
  }
  if (started) err(code, field, 'a complete OID', 'a truncated arc');
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join('.');
}

/** Unsigned big-endian magnitude of a non-negative INTEGER (leading sign zero removed). */
export function readUnsignedInteger(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): Uint8Array {
  const v = readIntegerBytes(t, field, code);
  if (v[0]! & 0x80) err(code, field, 'a non-negative INTEGER', 'a negative INTEGER');
  return v[0] === 0 && v.length > 1 ? v.subarray(1) : v;
}

/** The raw two's-complement contents of an INTEGER (e.g. certificate serial numbers). */
export function readIntegerBytes(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): Uint8Array {
  const v = expectTag(t, Tag.INTEGER, field, code).value;
  checkIntegerEncoding(v, field, code);
  return v;
}

/** A small non-negative INTEGER as a number (at most 2^48). */
export function readSmallInteger(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): number {
  const m = readUnsignedInteger(t, field, code);
  if (m.length > 6) err(code, field, 'an INTEGER below 2^48', `${m.length} bytes`);
  let n = 0;
  for (const b of m) n = n * 256 + b;
  return n;
}

function checkIntegerEncoding(v: Uint8Array, field: string, code: ProtocolErrorCode): void {
  if (v.length === 0) err(code, field, 'a non-empty INTEGER', 'empty');
  if (
    v.length > 1 &&
    ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0))
  ) {
    err(code, field, 'a minimal INTEGER encoding', 'a redundant leading octet');
  }
}

export function readBoolean(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): boolean {
  const v = expectTag(t, Tag.BOOLEAN, field, code).value;
  if (v.length !== 1) err(code, field, 'a 1-byte BOOLEAN', `${v.length} bytes`);
  if (v[0] !== 0 && v[0] !== 0xff)
    err(code, field, 'BOOLEAN 0x00 or 0xff (DER)', `0x${v[0]!.toString(16)}`);
  return v[0] === 0xff;
}

/** BIT STRING contents; only whole-octet strings (unused bits = 0) are accepted unless `allowUnused`. */
export function readBitString(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
  allowUnused = false,
): { bytes: Uint8Array; unusedBits: number } {
  const v = expectTag(t, Tag.BIT_STRING, field, code).value;
  if (v.length === 0) err(code, field, 'a BIT STRING with an unused-bits octet', 'empty');
  const unused = v[0]!;
  if (unused > 7 || (unused > 0 && v.length === 1))
    err(code, field, 'unused bits 0..7 with data', `${unused}`);
  if (unused !== 0 && !allowUnused) err(code, field, '0 unused bits', `${unused}`);
  return { bytes: v.subarray(1), unusedBits: unused };
}

export function readOctetString(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): Uint8Array {
  return expectTag(t, Tag.OCTET_STRING, field, code).value;
}

/** Decodes the character string types used in X.509 names. */
export function readString(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): string {
  if (t === undefined) return err(code, field, 'a string', 'nothing (element missing)');
  const v = t.value;
  switch (t.tag) {
    case Tag.UTF8String:
      try {
        return utf8Decode(v, field);
      } catch {
        return err(code, field, 'valid UTF-8', 'invalid bytes');
      }
    case Tag.PrintableString:
    case Tag.IA5String:
    case Tag.NumericString:
    case Tag.VisibleString:
      for (const b of v)
        if (b > 0x7f) err(code, field, 'ASCII characters', `byte 0x${b.toString(16)}`);
      return latin1Decode(v);
    case Tag.TeletexString:
      return latin1Decode(v);
    case Tag.BMPString: {
      if (v.length % 2 !== 0) err(code, field, 'an even-length BMPString', `${v.length} bytes`);
      let s = '';
      for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!);
      return s;
    }
    case Tag.UniversalString: {
      if (v.length % 4 !== 0)
        err(code, field, 'a UniversalString length divisible by 4', `${v.length} bytes`);
      let s = '';
      for (let i = 0; i < v.length; i += 4) {
        const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0;
        if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
          err(code, field, 'a valid code point', `0x${cp.toString(16)}`);
        s += String.fromCodePoint(cp);
      }
      return s;
    }
    default:
      return err(code, field, 'a string type', `tag 0x${t.tag.toString(16)}`);
  }
}

/** UTCTime (YYMMDDHHMMSSZ; 1950–2049) or GeneralizedTime (YYYYMMDDHHMMSS[.f]Z), RFC 5280 §4.1.2.5. */
export function readTime(
  t: Tlv | undefined,
  field: string,
  code: ProtocolErrorCode = 'x509_parse',
): Date {
  if (t === undefined) return err(code, field, 'a time', 'nothing (element missing)');
  const s = latin1Decode(t.value);
  let m: RegExpExecArray | null;
  let year: number;
  let rest: string[];
  let frac = 0;
  if (t.tag === Tag.UTCTime) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
    if (m === null)
      return err(code, field, 'UTCTime YYMMDDHHMMSSZ', JSON.stringify(s.slice(0, 20)));
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
    rest = m.slice(2, 7);
  } else if (t.tag === Tag.GeneralizedTime) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(s);
    if (m === null)
      return err(
        code,
        field,
        'GeneralizedTime YYYYMMDDHHMMSS[.f]Z',
        JSON.stringify(s.slice(0, 24)),
      );
    year = Number(m[1]);
    rest = m.slice(2, 7);
    if (m[7] !== undefined) frac = Math.floor(Number(`0.${m[7]}`) * 1000);
  } else {
    return err(code, field, 'UTCTime or GeneralizedTime', `tag 0x${t.tag.toString(16)}`);
  }
  const [mo, d, h, mi, se] = rest.map(Number) as [number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    err(code, field, 'a valid calendar time', JSON.stringify(s));
  }
  const date = new Date(0);
  date.setUTCFullYear(year, mo - 1, d);
  date.setUTCHours(h, mi, Math.min(se, 59), frac);
  if (date.getUTCDate() !== d) err(code, field, 'a valid calendar date', JSON.stringify(s));
  return date;
}
