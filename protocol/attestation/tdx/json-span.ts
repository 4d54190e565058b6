/**
 * Finds the exact byte span of a top-level member's value in a JSON document, without
 * re-serializing. Intel PCS signs the bytes of the `tcbInfo` / `enclaveIdentity` value exactly as
 * served, so the verifier must hash those bytes, not a re-encoding of the parsed object.
 */
import { fail } from '../../errors';
import { utf8Decode } from './bytes';

/** Deepest nesting accepted while skipping a value. */
export const JSON_SPAN_MAX_DEPTH = 64;

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Scanner {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly field: string,
  ) {}

  ws(): void {
    while (this.pos < this.b.length && WS.has(this.b[this.pos] ?? 0)) this.pos++;
  }

  peek(): number {
    const c = this.b[this.pos];
    if (c === undefined) fail('truncated', this.field, 'more JSON', 'end of input');
    return c;
  }

  expect(c: number): void {
    const got = this.peek();
    if (got !== c)
      fail(
        'malformed',
        this.field,
        `'${String.fromCharCode(c)}' at byte ${this.pos}`,
        `'${String.fromCharCode(got)}'`,
      );
    this.pos++;
  }

  /** Skips a string starting at the opening quote; returns its raw bytes span (without quotes). */
  string(): [number, number] {
    this.expect(0x22);
    const start = this.pos;
    for (;;) {
      const c = this.peek();
      if (c === 0x22) break;
      if (c < 0x20)
        fail(
          'malformed',
          this.field,
          'no control characters in strings',
          `0x${c.toString(16)} at byte ${this.pos}`,
        );
      this.pos += c === 0x5c ? 2 : 1;
    }
    const end = this.pos;
    this.pos++;
    return [start, end];
  }

  value(depth: number): void {
    if (depth > JSON_SPAN_MAX_DEPTH)
      fail('too_large', this.field, `nesting depth at most ${JSON_SPAN_MAX_DEPTH}`, 'deeper');
    this.ws();
    const c = this.peek();
    if (c === 0x22) {
      this.string();
    } else if (c === 0x7b || c === 0x5b) {
      const close = c === 0x7b ? 0x7d : 0x5d;
      this.pos++;
      this.ws();
      if (this.peek() === close) {
        this.pos++;
        return;
      }
      for (;;) {
        if (c === 0x7b) {
          this.ws();
          this.string();
          this.ws();
          this.expect(0x3a);
        }
        this.value(depth + 1);
        this.ws();
        if (this.peek() === 0x2c) {
          this.pos++;
          continue;
        }
        this.expect(close);
        return;
      }
    } else {
      // number, true, false, null: a run of literal characters
      const start = this.pos;
      while (
        this.pos < this.b.length &&
        /[0-9a-zA-Z+\-.]/.test(String.fromCharCode(this.b[this.pos] ?? 0))
      )
        this.pos++;
      if (this.pos === start)
        fail(
          'malformed',
          this.field,
          `a JSON value at byte ${start}`,
          `'${String.fromCharCode(c)}'`,
        );
    }
  }
}

/**
 * Returns the raw bytes of each top-level member's value, keyed by member name.
 * The document must be one JSON object (whitespace around it allowed).
 */
export function topLevelSpans(doc: Uint8Array, field: string): Map<string, Uint8Array> {
  const s = new Scanner(doc, field);
  const out = new Map<string, Uint8Array>();
  s.ws();
  s.expect(0x7b);
  s.ws();
  if (s.peek() === 0x7d) {
    s.pos++;
  } else {
    for (;;) {
      s.ws();
      const [ks, ke] = s.string();
      const key = parseJsonBytes(doc.subarray(ks - 1, ke + 1), field) as string;
      s.ws();
      s.expect(0x3a);
      s.ws();
      const vs = s.pos;
      s.value(1);
      if (out.has(key))
        fail('malformed', `${field}.${key}`, 'one member of that name', 'a duplicate');
      out.set(key, doc.subarray(vs, s.pos));
      s.ws();
      if (s.peek() === 0x2c) {
        s.pos++;
        continue;
      }
      s.expect(0x7d);
      break;
    }
  }
  s.ws();
  if (s.pos !== doc.length)
    fail('trailing_bytes', field, 'end of JSON document', `${doc.length - s.pos} more bytes`);
  return out;
}

/** JSON.parse over bytes, mapping every failure to a ProtocolError. */
export function parseJsonBytes(b: Uint8Array, field: string): unknown {
  const text = utf8Decode(b, field);
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    return fail('malformed', field, 'valid JSON', e instanceof Error ? e.message : String(e));
  }
}
