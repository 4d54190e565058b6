/**
 * Input generators for the decoder fuzzer (fast-check arbitraries).
 *
 * Every input is one of:
 *  - random bytes (lengths up to twice the largest seed, capped), to reach the early checks;
 *  - a valid seed (a real vector or a freshly built message) with 1..8 structure-aware mutations:
 *    bit flip, byte set, "interesting" integers written big- or little-endian (0, 1, 0x7f, 0x80,
 *    0xff, 0xffff, 0x7fffffff, 0xffffffff, ... — length fields are where parsers break), delete or
 *    duplicate a range, truncate, extend, splice a range of another seed, insert a token from the
 *    decoder's dictionary (XML markup, DER headers, JSON punctuation, PEM armour);
 *  - two seeds spliced at random points.
 * Positions are drawn as 32-bit integers and reduced modulo the current length, so shrinking
 * moves toward the start of the input and toward fewer, smaller mutations.
 */
import fc from 'fast-check';

export const INTERESTING: readonly number[] = [
  0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xffffffff,
];

export type Mutation =
  | { op: 'flip'; pos: number; bit: number }
  | { op: 'set'; pos: number; value: number }
  | { op: 'int'; pos: number; which: number; width: 1 | 2 | 3 | 4 | 8; be: boolean }
  | { op: 'delete'; pos: number; len: number }
  | { op: 'duplicate'; pos: number; len: number; at: number }
  | { op: 'truncate'; keep: number }
  | { op: 'extend'; fill: Uint8Array }
  | { op: 'splice'; other: number; from: number; len: number; at: number }
  | { op: 'token'; token: number; at: number; replace: boolean };

const pos32 = fc.integer({ min: 0, max: 0xffffffff });

export function mutationArb(dictSize: number): fc.Arbitrary<Mutation> {
  const ops: fc.Arbitrary<Mutation>[] = [
    fc.record({
      op: fc.constant('flip' as const),
      pos: pos32,
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({
      op: fc.constant('set' as const),
      pos: pos32,
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({
      op: fc.constant('int' as const),
      pos: pos32,
      which: fc.integer({ min: 0, max: INTERESTING.length * 2 - 1 }),
      width: fc.constantFrom(1 as const, 2 as const, 3 as const, 4 as const, 8 as const),
      be: fc.boolean(),
    }),
    fc.record({
      op: fc.constant('delete' as const),
      pos: pos32,
      len: fc.integer({ min: 1, max: 64 }),
    }),
    fc.record({
      op: fc.constant('duplicate' as const),
      pos: pos32,
      len: fc.integer({ min: 1, max: 64 }),
      at: pos32,
    }),
    fc.record({ op: fc.constant('truncate' as const), keep: pos32 }),
    fc.record({
      op: fc.constant('extend' as const),
      fill: fc.uint8Array({ minLength: 1, maxLength: 32 }),
    }),
    fc.record({
      op: fc.constant('splice' as const),
      other: pos32,
      from: pos32,
      len: fc.integer({ min: 1, max: 256 }),
      at: pos32,
    }),
  ];
  if (dictSize > 0)
    ops.push(
      fc.record({
        op: fc.constant('token' as const),
        token: fc.integer({ min: 0, max: dictSize - 1 }),
        at: pos32,
        replace: fc.boolean(),
      }),
    );
  return fc.oneof(...ops);
}

function writeInt(b: Uint8Array, pos: number, value: number, width: number, be: boolean): void {
  // value is < 2^32; an 8-byte write sign-extends "negative-looking" values (all ones).
  const big = width === 8 && value >= 0x80000000 ? 0xffffffff : 0;
  for (let i = 0; i < width; i++) {
    const byte = i < 4 ? Math.floor(value / 2 ** (8 * i)) & 0xff : big & 0xff;
    const at = be ? pos + width - 1 - i : pos + i;
    if (at < b.length) b[at] = byte;
  }
}

/** Applies one mutation; returns a new array (never aliases `input`). */
export function applyMutation(
  input: Uint8Array,
  m: Mutation,
  seeds: readonly Uint8Array[],
  dict: readonly Uint8Array[],
): Uint8Array {
  const n = input.length;
  switch (m.op) {
    case 'flip': {
      if (n === 0) return input.slice();
      const b = input.slice();
      const p = m.pos % n;
      b[p] = (b[p] as number) ^ (1 << m.bit);
      return b;
    }
    case 'set': {
      if (n === 0) return Uint8Array.of(m.value);
      const b = input.slice();
      b[m.pos % n] = m.value;
      return b;
    }
    case 'int': {
      if (n === 0) return input.slice();
      const b = input.slice();
      const base = INTERESTING[m.which % INTERESTING.length] as number;
      // the second half of `which` writes value - 1 / value + 1 (off-by-one lengths)
      const v = m.which < INTERESTING.length ? base : (base + (m.which % 2 === 0 ? 1 : -1)) >>> 0;
      writeInt(b, m.pos % n, v, m.width, m.be);
      return b;
    }
    case 'delete': {
      if (n === 0) return input.slice();
      const p = m.pos % n;
      const out = new Uint8Array(n - Math.min(m.len, n - p));
      out.set(input.subarray(0, p));
      out.set(input.subarray(p + m.len), p);
      return out;
    }
    case 'duplicate': {
      if (n === 0) return input.slice();
      const p = m.pos % n;
      const chunk = input.subarray(p, p + m.len);
      const at = m.at % (n + 1);
      return concat3(input.subarray(0, at), chunk, input.subarray(at));
    }
    case 'truncate':
      return input.slice(0, m.keep % (n + 1));
    case 'extend':
      return concat3(input, m.fill, new Uint8Array(0));
    case 'splice': {
      const other = seeds.length > 0 ? (seeds[m.other % seeds.length] as Uint8Array) : input;
      if (other.length === 0) return input.slice();
      const from = m.from % other.length;
      const chunk = other.subarray(from, from + m.len);
      const at = m.at % (n + 1);
      return concat3(input.subarray(0, at), chunk, input.subarray(at + chunk.length));
    }
    case 'token': {
      const tok = dict[m.token % Math.max(1, dict.length)] ?? new Uint8Array(0);
      const at = m.at % (n + 1);
      const rest = m.replace ? input.subarray(Math.min(n, at + tok.length)) : input.subarray(at);
      return concat3(input.subarray(0, at), tok, rest);
    }
  }
}

function concat3(a: Uint8Array, b: Uint8Array, c: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length + c.length);
  out.set(a);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}

export interface InputSpace {
  readonly seeds: readonly Uint8Array[];
  readonly dictionary: readonly Uint8Array[];
  /** Upper bound for purely random inputs (bytes). */
  readonly maxRandomLength: number;
}

/** The generated input plus how it was made (for the crash report). */
export interface FuzzInput {
  readonly bytes: Uint8Array;
  readonly origin: string;
}

export function inputArb(space: InputSpace): fc.Arbitrary<FuzzInput> {
  const { seeds, dictionary } = space;
  const random = fc
    .uint8Array({ minLength: 0, maxLength: space.maxRandomLength })
    .map((bytes) => ({ bytes, origin: 'random' }));
  if (seeds.length === 0) return random;
  const mutated = fc
    .record({
      seed: fc.integer({ min: 0, max: seeds.length - 1 }),
      muts: fc.array(mutationArb(dictionary.length), { minLength: 1, maxLength: 8 }),
    })
    .map(({ seed, muts }) => {
      let b: Uint8Array = (seeds[seed] as Uint8Array).slice();
      for (const m of muts) b = applyMutation(b, m, seeds, dictionary);
      return { bytes: b, origin: `seed ${seed} + ${muts.map((m) => m.op).join(',')}` };
    });
  const crossover = fc
    .record({ a: fc.nat(), b: fc.nat(), cutA: pos32, cutB: pos32 })
    .map(({ a, b, cutA, cutB }) => {
      const sa = seeds[a % seeds.length] as Uint8Array;
      const sb = seeds[b % seeds.length] as Uint8Array;
      const x = sa.subarray(0, cutA % (sa.length + 1));
      const y = sb.subarray(cutB % (sb.length + 1));
      return {
        bytes: concat3(x, y, new Uint8Array(0)),
        origin: `crossover ${a % seeds.length}/${b % seeds.length}`,
      };
    });
  const pristine = fc
    .integer({ min: 0, max: seeds.length - 1 })
    .map((i) => ({ bytes: (seeds[i] as Uint8Array).slice(), origin: `seed ${i}` }));
  return fc.oneof(
    { arbitrary: mutated, weight: 14 },
    { arbitrary: random, weight: 3 },
    { arbitrary: crossover, weight: 2 },
    { arbitrary: pristine, weight: 1 },
  );
}

export const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
