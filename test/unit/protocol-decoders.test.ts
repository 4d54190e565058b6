/**
 * Property tests over every handshake-layer decoder: random and mutated inputs produce either a
 * value or a ProtocolError, never any other exception; successful decodes of the evidence bundle
 * are canonical (re-encode to the same bytes).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import { DEFAULT_LIMITS } from '../../protocol/limits';
import { ClientHandshake, ServerHandshake } from '../../protocol/handshake/handshake';
import {
  decodeClientFinished,
  decodeClientHello,
  decodeServerHello,
} from '../../protocol/handshake/messages';
import { decodeEvidenceBundle, encodeEvidenceBundle } from '../../protocol/handshake/evidence';
import type { EvidenceItem } from '../../protocol/attestation/types';
import { Reader } from '../../protocol/wire/codec';
import { utf8Decode, utf8Encode } from '../../protocol/wire/bytes';
import { codeOf as code } from '../helpers/errors';

const L = DEFAULT_LIMITS;
const onlyProtocolErrors = (f: () => unknown): void => {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `non-ProtocolError: ${String(e)}`);
  }
};
const mutate = (orig: Uint8Array, muts: [number, number][], cut: number): Uint8Array => {
  let b = orig.slice();
  for (const [p, v] of muts) b[p % b.length] = v;
  if (cut < 0) b = b.subarray(0, Math.max(0, b.length + cut));
  if (cut > 0) b = new Uint8Array([...b, ...new Uint8Array(cut)]);
  return b;
};
const mutation = fc.tuple(
  fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
  fc.integer({ min: -40, max: 3 }),
);

const items: EvidenceItem[] = [
  {
    kind: 'sev-snp',
    label: '',
    parts: new Map([
      ['ark', new Uint8Array([1, 2])],
      ['report', new Uint8Array(40)],
      ['vcek', new Uint8Array([3])],
    ]),
  },
  {
    kind: 'nvidia-gpu',
    label: 'gpu0',
    parts: new Map([
      ['chain', new Uint8Array(5)],
      ['ocsp.0', new Uint8Array(0)],
      ['report', new Uint8Array(9)],
    ]),
  },
];

describe('decoders only throw ProtocolError', () => {
  test('Reader primitives on random input', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 12 }),
        (b, ops) => {
          onlyProtocolErrors(() => {
            const r = new Reader(b, 'x');
            for (const op of ops) {
              [
                () => r.u8('a'),
                () => r.u16('b'),
                () => r.u32('c'),
                () => r.u64('d'),
                () => r.vec8('e'),
                () => r.vec16('f', 10),
                () => r.vec32('g', 10),
                () => r.str8('h'),
                () => r.f64('i'),
                () => r.end(),
              ][op]?.();
            }
          });
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('evidence bundle: round trip, canonical, random and mutated input', () => {
    const enc = encodeEvidenceBundle(items, L);
    const dec = decodeEvidenceBundle(enc, L);
    assert.deepEqual(dec, items);
    fc.assert(
      fc.property(mutation, ([muts, cut]) => {
        const b = mutate(enc, muts, cut);
        try {
          assert.deepEqual(encodeEvidenceBundle(decodeEvidenceBundle(b, L), L), b);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) =>
        onlyProtocolErrors(() => decodeEvidenceBundle(b, L)),
      ),
      { numRuns: 2000 },
    );
  });

  test('evidence bundle: each rule is enforced', () => {
    const enc = encodeEvidenceBundle(items, L);
    // duplicate (kind,label)
    assert.equal(
      code(() => encodeEvidenceBundle([items[0] as EvidenceItem, items[0] as EvidenceItem], L)),
      'malformed',
    );
    // bad part name
    assert.equal(
      code(() =>
        encodeEvidenceBundle(
          [{ kind: 'tdx', label: '', parts: new Map([['Bad Name', new Uint8Array()]]) }],
          L,
        ),
      ),
      'malformed',
    );
    // unknown kind
    assert.equal(
      code(() => encodeEvidenceBundle([{ kind: 'sgx' as never, label: '', parts: new Map() }], L)),
      'malformed',
    );
    // limits
    assert.equal(
      code(() => decodeEvidenceBundle(enc, { ...L, maxEvidenceItems: 1 })),
      'too_large',
    );
    assert.equal(
      code(() => decodeEvidenceBundle(enc, { ...L, maxEvidenceParts: 2 })),
      'too_large',
    );
    assert.equal(
      code(() => decodeEvidenceBundle(enc, { ...L, maxEvidencePartBytes: 20 })),
      'too_large',
    );
    assert.equal(
      code(() => decodeEvidenceBundle(enc, { ...L, maxEvidenceBytes: 20 })),
      'too_large',
    );
    // out-of-order parts: swap "ark" and "report" names by hand-encoding
    const manual = new Uint8Array([
      1,
      7,
      ...Buffer.from('sev-snp'),
      0,
      2,
      6,
      ...Buffer.from('report'),
      0,
      0,
      0,
      0,
      3,
      ...Buffer.from('ark'),
      0,
      0,
      0,
      0,
    ]);
    assert.equal(
      code(() => decodeEvidenceBundle(manual, L)),
      'malformed',
    );
    assert.equal(
      code(() => decodeEvidenceBundle(new Uint8Array([...enc, 0]), L)),
      'trailing_bytes',
    );
  });

  test('ClientHello / ServerHello / ClientFinished on random and mutated input', async () => {
    const client = new ClientHandshake({
      crypto: nodeProvider,
      verifier: async () => ({ ok: true, reports: [], summary: '' }),
      requiredEvidence: ['sev-snp', 'nvidia-gpu'],
    });
    const server = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async () => items,
      serverInfo: new Uint8Array([1, 2, 3]),
    });
    const ch = client.clientHello();
    const sh = await server.onClientHello(ch);
    const { clientFinished } = await client.onServerHello(sh);
    assert.ok(decodeClientHello(ch, L));
    assert.ok(decodeServerHello(sh, L));
    assert.ok(decodeClientFinished(clientFinished));
    for (const [orig, dec] of [
      [ch, (b: Uint8Array) => decodeClientHello(b, L)],
      [sh, (b: Uint8Array) => decodeServerHello(b, L)],
      [clientFinished, decodeClientFinished],
    ] as const) {
      fc.assert(
        fc.property(mutation, ([muts, cut]) =>
          onlyProtocolErrors(() => dec(mutate(orig, muts, cut))),
        ),
        { numRuns: 1500 },
      );
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 300 }), (b) => onlyProtocolErrors(() => dec(b))),
        { numRuns: 1000 },
      );
    }
    assert.throws(
      () => decodeClientHello(ch, { ...L, maxClientHello: 100 }),
      (e: unknown) => e instanceof ProtocolError && e.code === 'too_large',
    );
    assert.throws(
      () => decodeServerHello(sh, { ...L, maxServerHello: 100 }),
      (e: unknown) => e instanceof ProtocolError && e.code === 'too_large',
    );
    assert.throws(
      () => decodeServerHello(sh, { ...L, maxServerInfo: 2 }),
      (e: unknown) => e instanceof ProtocolError && e.code === 'too_large',
    );
  });

  test('handshake state machines on mutated input only throw ProtocolError', async () => {
    const verifier = async () => ({ ok: true, reports: [], summary: '' });
    const c0 = new ClientHandshake({ crypto: nodeProvider, verifier, requiredEvidence: [] });
    const s0 = new ServerHandshake({
      crypto: nodeProvider,
      collectEvidence: async () => items,
      serverInfo: new Uint8Array(),
    });
    const ch = c0.clientHello();
    const sh = await s0.onClientHello(ch);
    await fc.assert(
      fc.asyncProperty(mutation, async ([muts, cut]) => {
        const s = new ServerHandshake({
          crypto: nodeProvider,
          collectEvidence: async () => items,
          serverInfo: new Uint8Array(),
        });
        await s
          .onClientHello(mutate(ch, muts, cut))
          .catch((e: unknown) => assert.ok(e instanceof ProtocolError, String(e)));
        const c = new ClientHandshake({ crypto: nodeProvider, verifier, requiredEvidence: [] });
        c.clientHello();
        await c.onServerHello(mutate(sh, muts, cut)).then(
          () => assert.fail('a mutated ServerHello for another ClientHello must never establish'),
          (e: unknown) => assert.ok(e instanceof ProtocolError, String(e)),
        );
      }),
      { numRuns: 150 },
    );
  });
});

describe('strict UTF-8', () => {
  test('decoder agrees with Buffer on random bytes (valid iff Buffer round-trips them)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
        let a: string | ProtocolError;
        try {
          a = utf8Decode(b);
        } catch (e) {
          a = e as ProtocolError;
        }
        const lossy = Buffer.from(b).toString('utf8');
        const p = Buffer.from(lossy, 'utf8').equals(b)
          ? lossy
          : new ProtocolError('malformed', 'ref');
        if (typeof a === 'string') assert.equal(a, p);
        else {
          assert.ok(a instanceof ProtocolError && p instanceof ProtocolError);
          assert.equal(a.code, 'malformed');
        }
      }),
      { numRuns: 5000 },
    );
  });
  test('encoders agree and reject lone surrogates', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) =>
        assert.deepEqual(Buffer.from(utf8Encode(s)), Buffer.from(s, 'utf8')),
      ),
    );
    assert.throws(
      () => utf8Encode('a\udc00'),
      (e: unknown) => e instanceof ProtocolError && e.code === 'malformed',
    );
    assert.throws(
      () => utf8Encode('\ud800'),
      (e: unknown) => e instanceof ProtocolError && e.code === 'malformed',
    );
    assert.throws(
      () => utf8Decode(new Uint8Array([0xc0, 0x80])),
      (e: unknown) => e instanceof ProtocolError && e.code === 'malformed',
    ); // overlong
    assert.throws(
      () => utf8Decode(new Uint8Array([0xed, 0xa0, 0x80])),
      (e: unknown) => e instanceof ProtocolError && e.code === 'malformed',
    ); // surrogate
    assert.equal(utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), '\ufeffA'); // BOM kept, not stripped
  });
});
