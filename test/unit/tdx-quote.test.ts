import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ProtocolError } from '../../protocol/errors';
import {
  BODY,
  HEADER,
  SIG,
  V5_DESCRIPTOR,
  parseTdxQuote,
} from '../../protocol/attestation/tdx/quote';
import { parseTdReport, TDREPORT } from '../../protocol/attestation/tdx/tdreport';
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { parseQeIdentity, parseTdxTcbInfo } from '../../protocol/attestation/tdx/collateral';
import { parsePckExtension } from '../../protocol/attestation/tdx/pck';
import { toHex } from '../../protocol/attestation/tdx/bytes';
import { parsePemOrDer } from '../../protocol/x509/index';
import { skipUnlessShared } from '../helpers/shared';
import { tdxExpected, vec } from '../helpers/tdx';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

/** Runs `f` and asserts it either returns or throws a ProtocolError (never anything else). */
function onlyProtocolErrors(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ProtocolError)) throw new Error(`non-ProtocolError thrown: ${String(e)}`);
  }
}

function u32le(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);
}
function u16le(b: Uint8Array, off: number, v: number): void {
  new DataView(b.buffer, b.byteOffset).setUint16(off, v, true);
}

describe('TDX quote parser: every EXPECTED.json tdx_quotes item', { skip }, () => {
  if (skip) return;
  for (const e of tdxExpected().tdx_quotes) {
    test(e.quote, () => {
      const q = parseTdxQuote(vec(e.quote));
      assert.equal(q.header.version, e.version);
      assert.equal(q.bodyType, e.body_type);
      assert.equal(`0x${q.header.teeType.toString(16)}`, e.tee_type);
      assert.equal(toHex(q.header.qeVendorId), e.qe_vendor_id);
      assert.equal(q.trailingBytes, e.trailing_bytes_after_sig_data);
      const b = q.body;
      const fields: Record<string, Uint8Array | undefined> = {
        tee_tcb_svn: b.teeTcbSvn,
        mrseam: b.mrSeam,
        mrsignerseam: b.mrSignerSeam,
        seam_attributes: b.seamAttributes,
        td_attributes: b.tdAttributes,
        xfam: b.xfam,
        mrtd: b.mrTd,
        mrconfigid: b.mrConfigId,
        mrowner: b.mrOwner,
        mrownerconfig: b.mrOwnerConfig,
        rtmr0: b.rtmrs[0],
        rtmr1: b.rtmrs[1],
        rtmr2: b.rtmrs[2],
        rtmr3: b.rtmrs[3],
        report_data: b.reportData,
        tee_tcb_svn2: b.teeTcbSvn2,
        mr_servicetd: b.mrServiceTd,
      };
      for (const [k, v] of Object.entries(fields)) {
        if (e[k] === undefined) {
          assert.equal(v, undefined, `${k} should be absent for body type ${e.body_type}`);
        } else {
          assert.ok(v !== undefined, `${k} missing`);
          assert.equal(toHex(v), e[k], k);
        }
      }
      assert.equal(toHex(q.qeReport.mrSigner), e.qe_mrsigner);
      assert.equal(q.qeReport.isvProdId, e.qe_isvprodid);
      assert.equal(q.qeReport.isvSvn, e.qe_isvsvn);
      const leaf = parsePemOrDer(new TextDecoder().decode(q.pckChainPem))[0];
      assert.ok(leaf);
      assert.equal(toHex(parsePckExtension(leaf).fmspc), e.fmspc.toLowerCase());
    });
  }
});

describe('TDX quote parser: structural errors are typed', { skip }, () => {
  if (skip) return;
  const v4 = (): Uint8Array => vec('tdx/trustee/tdx_quote_6.dat');
  const v5 = (): Uint8Array => vec('tdx/trustee/tdx_quote_5.dat');

  test('every truncation of a v4 and a v5 quote fails with a ProtocolError', () => {
    for (const q of [v4(), v5()]) {
      const full = parseTdxQuote(q);
      for (let n = 0; n < full.length; n += 7) {
        assert.throws(() => parseTdxQuote(q.subarray(0, n)), ProtocolError, `length ${n}`);
      }
    }
  });

  test('unsupported version, attestation key type, TEE type', () => {
    const cases: [number, (b: Uint8Array) => void, string][] = [
      [0, (b) => u16le(b, HEADER.VERSION, 3), 'unsupported_version'],
      [0, (b) => u16le(b, HEADER.ATT_KEY_TYPE, 3), 'unknown_type'],
      [0, (b) => u32le(b, HEADER.TEE_TYPE, 0), 'unknown_type'],
    ];
    for (const [, mutate, code] of cases) {
      const b = v4();
      mutate(b);
      assert.throws(
        () => parseTdxQuote(b),
        (e: unknown) => e instanceof ProtocolError && e.code === code,
      );
    }
  });

  test('v5: unknown body type and wrong body size', () => {
    let b = v5();
    u16le(b, V5_DESCRIPTOR.BODY_TYPE, 1);
    assert.throws(
      () => parseTdxQuote(b),
      (e: unknown) => e instanceof ProtocolError && e.code === 'unknown_type',
    );
    b = v5();
    u32le(b, V5_DESCRIPTOR.BODY_SIZE, 584);
    assert.throws(
      () => parseTdxQuote(b),
      (e: unknown) => e instanceof ProtocolError && e.code === 'bad_length',
    );
  });

  test('inconsistent certification data sizes are rejected', () => {
    const q = parseTdxQuote(v4());
    const sigAt = q.signedBytes.length + 4;
    let b = v4();
    u32le(b, sigAt + SIG.CERT_DATA_SIZE, q.length - sigAt - SIG.CERT_DATA - 1);
    assert.throws(
      () => parseTdxQuote(b),
      (e: unknown) => e instanceof ProtocolError && e.code === 'bad_length',
    );
    b = v4();
    u16le(b, sigAt + SIG.CERT_DATA_TYPE, 5);
    assert.throws(
      () => parseTdxQuote(b),
      (e: unknown) => e instanceof ProtocolError && e.code === 'unknown_type',
    );
  });

  test('trailing bytes after sig_data are allowed and counted', () => {
    const q = v4();
    const padded = new Uint8Array(q.length + 100);
    padded.set(q);
    const a = parseTdxQuote(q);
    const b = parseTdxQuote(padded);
    assert.equal(b.trailingBytes, a.trailingBytes + 100);
    assert.equal(toHex(b.body.mrTd), toHex(a.body.mrTd));
    assert.equal(BODY.MRTD, 136);
  });

  test('property: random input yields only ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 6000 }), (b) =>
        onlyProtocolErrors(() => parseTdxQuote(b)),
      ),
      { numRuns: 300 },
    );
  });

  test('property: mutated real quotes yield a parse or a ProtocolError', () => {
    const base = v5();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat({ max: base.length }),
        (muts, cut) => {
          const b = base.slice(0, Math.max(cut, 1));
          for (const [i, v] of muts) if (i < b.length) b[i] = v;
          onlyProtocolErrors(() => parseTdxQuote(b));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('TDREPORT, CCEL and collateral parsers', { skip }, () => {
  if (skip) return;
  test('TDREPORT fields at their offsets (lunal live TDREPORT)', () => {
    const raw = vec('tdx/lunal-attestation-rs/tdx_tdreport_live.bin');
    const r = parseTdReport(raw);
    assert.equal(toHex(r.rtmrs[0]), toHex(raw.subarray(TDREPORT.RTMR0, TDREPORT.RTMR0 + 48)));
    assert.equal(TDREPORT.RTMR0, 720);
    assert.throws(() => parseTdReport(raw.subarray(0, 1000)), ProtocolError);
    assert.throws(() => parseTdReport(new Uint8Array(1024)), ProtocolError); // report type 0
  });

  test('CCEL: event counts from EXPECTED.json', () => {
    for (const e of tdxExpected().tdx_ccel)
      assert.equal(parseCcel(vec(e.ccel)).events.length, e.events, e.ccel);
  });

  test('property: CCEL parser only throws ProtocolError (random and mutated)', () => {
    const base = vec('tdx/lunal-attestation-rs/tdx_ccel_live2.dat').slice(0, 4096);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (b) =>
        onlyProtocolErrors(() => parseCcel(b)),
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: 2047 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (muts) => {
          const b = base.slice();
          for (const [i, v] of muts) b[i] = v;
          onlyProtocolErrors(() => parseCcel(b));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('collateral JSON: every EXPECTED item parses with its recorded id, FMSPC, dates', () => {
    for (const e of tdxExpected().tdx_collateral) {
      const doc = vec(e.file);
      if (e.kind === 'tcbInfo') {
        const t = parseTdxTcbInfo(doc).body;
        assert.equal(t.id, e.id);
        assert.equal(toHex(t.fmspc), (e.fmspc ?? '').toLowerCase());
        assert.equal(t.issueDate.toISOString().replace('.000', ''), e.issueDate);
        assert.equal(t.nextUpdate.toISOString().replace('.000', ''), e.nextUpdate);
        assert.equal(t.tcbEvaluationDataNumber, e.tcbEvaluationDataNumber);
      } else {
        const q = parseQeIdentity(doc).body;
        assert.equal(q.id, e.id);
        assert.equal(q.issueDate.toISOString().replace('.000', ''), e.issueDate);
        assert.equal(q.tcbEvaluationDataNumber, e.tcbEvaluationDataNumber);
      }
    }
  });

  test('collateral JSON: the signed span is the exact bytes of the member value', () => {
    const doc = vec('tdx/trustee/tcbInfo.json');
    const s = parseTdxTcbInfo(doc);
    const text = new TextDecoder().decode(doc);
    const start = text.indexOf('{"id"');
    assert.equal(
      new TextDecoder().decode(s.signedBytes),
      text.slice(start, start + s.signedBytes.length),
    );
    assert.ok(text.slice(start + s.signedBytes.length).startsWith(',"signature"'));
  });

  test('property: collateral parsers only throw ProtocolError', () => {
    const docs = [vec('tdx/trustee/tcbInfo.json'), vec('tdx/trustee/enclaveIdentity.json')];
    fc.assert(
      fc.property(
        fc.nat({ max: 1 }),
        fc.array(fc.tuple(fc.nat({ max: 600 }), fc.integer({ min: 0, max: 255 })), {
          maxLength: 4,
        }),
        fc.nat(),
        (k, muts, cut) => {
          const d = docs[k]!;
          const b = d.slice(0, cut % (d.length + 1));
          for (const [i, v] of muts) if (i < b.length) b[i] = v;
          onlyProtocolErrors(() => (k === 0 ? parseTdxTcbInfo(b) : parseQeIdentity(b)));
        },
      ),
      { numRuns: 400 },
    );
    fc.assert(
      fc.property(fc.json(), (j) => {
        const b = new TextEncoder().encode(j);
        onlyProtocolErrors(() => parseTdxTcbInfo(b));
        onlyProtocolErrors(() => parseQeIdentity(b));
      }),
      { numRuns: 200 },
    );
  });
});
