import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { parseTdxQuote, QE_REPORT, HEADER, BODY } from '../../protocol/attestation/tdx/quote';
import { verifyTdxQuote, verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import type { TdxCollateral, TdxVerifyResult } from '../../protocol/attestation/tdx/verify';
import { tdxPolicy as strictTdxPolicy } from '../../protocol/attestation/tdx/policy';
import type { TdxPolicy } from '../../protocol/attestation/tdx/policy';
import { DEFAULT_POLICY } from '../../protocol/attestation/policy';
import { parseTdReport } from '../../protocol/attestation/tdx/tdreport';
import { verifyAzureTdxHcl } from '../../protocol/attestation/tdx/azure-hcl';
import { toHex } from '../../protocol/attestation/tdx/bytes';
import { parsePemOrDer } from '../../protocol/x509/index';
import {
  INTEL_SGX_ROOT_CA_DER,
  INTEL_SGX_ROOT_CA_SHA256,
  INTEL_SGX_TCB_SIGNING_DER,
  INTEL_SGX_TCB_SIGNING_SHA256,
} from '../../protocol/attestation/roots/intel';
import type { BindingValues, EvidenceItem } from '../../protocol/attestation/types';
import { skipUnlessShared } from '../helpers/shared';
import {
  TDX_COLLATERAL_MISSING,
  ctxAt,
  inside,
  p256Signer,
  tdxExpected,
  vec,
} from '../helpers/tdx';
import type { ExpectedTdxQuote } from '../helpers/tdx';

const skip = skipUnlessShared('vectors', 'EXPECTED.json');

const failed = (r: TdxVerifyResult): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);
const passed = (r: TdxVerifyResult, id: string): boolean =>
  r.checks.some((c) => c.id === id) && r.checks.filter((c) => c.id === id).every((c) => c.ok);
const binding = (reportData: Uint8Array): BindingValues => ({
  cpuReportData: reportData,
  gpuNonce: new Uint8Array(32),
});
/**
 * The suites below test the quote's own checks on quotes that come without collateral, so they
 * relax the four collateral items, explicitly; the collateral suite and the fail-closed tests use
 * the strict default (`strictTdxPolicy`).
 */
const NO_COLLATERAL: Partial<TdxPolicy> = {
  allowMissingTcbInfo: true,
  allowMissingQeIdentity: true,
  allowMissingPckCrl: true,
  allowMissingRootCaCrl: true,
};
/** No CRL in the vector set is current in the 2025-10 collateral window (trustee tcbInfo/QE identity). */
const NO_CRLS: Partial<TdxPolicy> = { allowMissingPckCrl: true, allowMissingRootCaCrl: true };
const tdxPolicy = (p: Partial<TdxPolicy> = {}): TdxPolicy =>
  strictTdxPolicy({ ...NO_COLLATERAL, ...p });
/** Policy used where only the cryptographic outcome is under test (several vectors are debug TDs). */
// (SEPT_VE_DISABLE is not set by tdx_prod_quote_SPR_E4 nor by Azure's TD, so it is not required here.)
const cryptoOnly = tdxPolicy({ allowDebug: true, requireSeptVeDisable: false });

function quoteItem(path: string): ExpectedTdxQuote {
  const e = tdxExpected().tdx_quotes.find((q) => q.quote === path);
  assert.ok(e, path);
  return e;
}

describe(
  'TDX verify: every EXPECTED.json tdx_quotes item gives its recorded outcome',
  { skip },
  () => {
    if (skip) return;
    for (const e of tdxExpected().tdx_quotes) {
      test(`${e.quote} at ${inside(e.pck_chain_valid_window).toISOString()}`, () => {
        const r = verifyTdxQuote(
          { quote: vec(e.quote) },
          ctxAt(inside(e.pck_chain_valid_window)),
          cryptoOnly,
          binding(parseTdxQuote(vec(e.quote)).body.reportData),
        );
        assert.equal(passed(r, 'quote_signature'), e.expected.quote_signature_valid);
        assert.equal(
          passed(r, 'qe_report'),
          e.expected.qe_report_signature_valid && e.expected.qe_report_data_binds_attestation_key,
        );
        assert.equal(passed(r, 'pck_chain'), e.expected.pck_chain_valid_to_intel_root);
        assert.equal(r.fields['fmspc'], e.fmspc.toLowerCase());
        assert.equal(r.fields['mrtd'], e['mrtd']);
        assert.equal(
          r.ok,
          Object.values(e.expected).every(Boolean),
          JSON.stringify(r.checks.filter((c) => !c.ok)),
        );
      });
    }
  },
);

describe('TDX verify: tamper cases each fail their own check', { skip }, () => {
  if (skip) return;
  const path = 'tdx/trustee/tdx_quote_6.dat';
  const e = quoteItem(path);
  const at = inside(e.pck_chain_valid_window);
  const ctx = ctxAt(at);
  const policy = tdxPolicy();
  const q = () => vec(path);
  const parsed = parseTdxQuote(q());
  const rd = binding(parsed.body.reportData);

  test('baseline: the untouched quote passes with the default policy and binding', () => {
    const r = verifyTdxQuote({ quote: q() }, ctx, policy, rd);
    assert.deepEqual(failed(r), []);
    assert.ok(r.ok);
  });

  test('flipping any signed header or body byte fails quote_signature', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: parsed.signedBytes.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (i, x) => {
          const b = q();
          b[i] = (b[i] ?? 0) ^ x;
          let r: TdxVerifyResult;
          try {
            r = verifyTdxQuote({ quote: b }, ctx, policy, rd);
          } catch (err) {
            throw new Error(`verify threw: ${String(err)}`);
          }
          assert.equal(r.ok, false);
          // Header fields the parser checks (version, key type, TEE type) fail as parse errors instead.
          assert.ok(
            failed(r).includes('quote_signature') || failed(r).includes('parse'),
            failed(r).join(),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  test('property: verifyTdxQuote never throws on mutated quotes (any byte, any length)', () => {
    const base = q();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: base.length - 1 }), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat({ max: base.length }),
        (muts, cut) => {
          const b = base.slice(0, Math.max(cut, 1));
          for (const [i, x] of muts) if (i < b.length) b[i] = (b[i] ?? 0) ^ x;
          const r = verifyTdxQuote({ quote: b }, ctx, policy, rd);
          const touchedSigned = muts.some(([i]) => i < parsed.signedBytes.length);
          if (touchedSigned || cut < parsed.length) assert.equal(r.ok, false);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('flipping a byte of the QE report fails qe_report (and nothing passes it)', () => {
    const b = q();
    const sigData = parsed.signedBytes.length + 4;
    const qeAt = sigData + 134 + QE_REPORT.ISV_SVN; // inside the QE report
    b[qeAt] = (b[qeAt] ?? 0) ^ 1;
    const r = verifyTdxQuote({ quote: b }, ctx, policy, rd);
    assert.deepEqual(failed(r), ['qe_report']);
  });

  test('a different attestation key (re-signed quote) fails the QE binding', () => {
    const s = p256Signer();
    const b = q();
    const sigData = parsed.signedBytes.length + 4;
    b.set(s.sign(b.subarray(0, parsed.signedBytes.length)), sigData);
    b.set(s.xy, sigData + 64);
    const r = verifyTdxQuote({ quote: b }, ctx, policy, rd);
    assert.ok(passed(r, 'quote_signature'), 'the forged signature itself is valid');
    assert.deepEqual(failed(r), ['qe_report']);
    assert.match(r.checks.find((c) => !c.ok)?.message ?? '', /SHA-256\(attestation_key‖qe_auth\)/);
  });

  test('a truncated quote is a parse failure, never a throw', () => {
    const r = verifyTdxQuote({ quote: q().subarray(0, 1000) }, ctx, policy, rd);
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['parse']);
  });

  test('wrong report_data binding fails report_data', () => {
    const other = new Uint8Array(64).fill(7);
    const r = verifyTdxQuote({ quote: q() }, ctx, policy, binding(other));
    assert.deepEqual(failed(r), ['report_data']);
    assert.match(r.checks.find((c) => c.id === 'report_data')?.message ?? '', /expected 0707/);
  });

  test('policy expectedReportData (CLI --expect-report-data) is used when no binding is given', () => {
    const hex = toHex(parsed.body.reportData);
    assert.ok(
      passed(
        verifyTdxQuote({ quote: q() }, ctx, tdxPolicy({ expectedReportData: hex })),
        'report_data',
      ),
    );
    const bad = verifyTdxQuote(
      { quote: q() },
      ctx,
      tdxPolicy({ expectedReportData: '00'.repeat(64) }),
    );
    assert.deepEqual(failed(bad), ['report_data']);
    // Without a binding and without an expected value there is no report_data check at all.
    assert.ok(
      !verifyTdxQuote({ quote: q() }, ctx, policy).checks.some((c) => c.id === 'report_data'),
    );
  });

  test('MRTD allowlist: listed passes, unlisted fails', () => {
    const ok = verifyTdxQuote(
      { quote: q() },
      ctx,
      tdxPolicy({ mrtd: [toHex(parsed.body.mrTd).toUpperCase()] }),
      rd,
    );
    assert.ok(passed(ok, 'measurement'));
    const bad = verifyTdxQuote({ quote: q() }, ctx, tdxPolicy({ mrtd: ['00'.repeat(48)] }), rd);
    assert.deepEqual(failed(bad), ['measurement']);
  });

  test('RTMR, MRCONFIGID and MROWNER allowlists', () => {
    const r = verifyTdxQuote(
      { quote: q() },
      ctx,
      tdxPolicy({
        rtmr: [[toHex(parsed.body.rtmrs[0])], ['11'.repeat(48)]],
        mrConfigId: ['22'.repeat(48)],
        mrOwner: [toHex(parsed.body.mrOwner)],
      }),
      rd,
    );
    assert.deepEqual(failed(r).sort(), ['mrconfigid', 'rtmr']);
    assert.ok(passed(r, 'mrowner'));
  });

  test('MRSEAM allowlist and QE/PCE SVN floors', () => {
    const r = verifyTdxQuote(
      { quote: q() },
      ctx,
      tdxPolicy({
        mrSeam: ['33'.repeat(48)],
        minQeSvn: parsed.qeReport.isvSvn + 1,
        minPceSvn: 1,
      }),
      rd,
    );
    assert.deepEqual(failed(r).sort(), ['mrseam', 'tcb']);
    // The QE SVN is the QE report's ISVSVN (the header bytes are 0 on real quotes).
    assert.equal(parsed.header.qeSvn, 0);
    assert.match(
      r.checks.find((c) => c.id === 'tcb' && !c.ok)?.message ?? '',
      new RegExp(
        `qe_report\\.isv_svn: expected >= ${parsed.qeReport.isvSvn + 1}, got ${parsed.qeReport.isvSvn}`,
      ),
    );
    assert.ok(
      r.checks.some(
        (c) => c.id === 'tcb' && c.ok && /pck\.pcesvn \d+ >= policy minimum 1/.test(c.message),
      ),
    );
    const pce = verifyTdxQuote({ quote: q() }, ctx, tdxPolicy({ minPceSvn: 65535 }), rd);
    assert.match(
      pce.checks.find((c) => !c.ok)?.message ?? '',
      /pck\.pcesvn: expected >= 65535, got \d+/,
    );
    const ok = verifyTdxQuote(
      { quote: q() },
      ctx,
      tdxPolicy({ mrSeam: [toHex(parsed.body.mrSeam)] }),
      rd,
    );
    assert.deepEqual(failed(ok), []);
  });

  test('debug attribute: forbidden by default, allowed by policy; every violation is collected', () => {
    const dbg = 'tdx/trustee/tdx_quote_4.dat';
    const de = quoteItem(dbg);
    const c = ctxAt(inside(de.pck_chain_valid_window));
    const dq = parseTdxQuote(vec(dbg));
    assert.equal((dq.body.tdAttributes[0] ?? 0) & 1, 1, 'vector is a debug TD');
    const r = verifyTdxQuote(
      { quote: vec(dbg) },
      c,
      tdxPolicy({ mrtd: ['00'.repeat(48)] }),
      binding(new Uint8Array(64)),
    );
    assert.deepEqual(failed(r).sort(), ['measurement', 'policy.debug', 'report_data']);
    const allowed = verifyTdxQuote(
      { quote: vec(dbg) },
      c,
      tdxPolicy({ allowDebug: true }),
      binding(dq.body.reportData),
    );
    assert.ok(allowed.ok, JSON.stringify(allowed.checks.filter((x) => !x.ok)));
    // Setting the debug bit on a production TD breaks the signature too.
    const b = q();
    const attrAt = (parsed.header.version === 5 ? 54 : HEADER.SIZE) + BODY.TD_ATTRIBUTES;
    b[attrAt] = (b[attrAt] ?? 0) | 1;
    assert.deepEqual(failed(verifyTdxQuote({ quote: b }, ctx, policy, rd)).sort(), [
      'policy.debug',
      'quote_signature',
    ]);
  });

  test('PCK chain: expired at --at, and a foreign root', () => {
    const late = verifyTdxQuote(
      { quote: q() },
      ctxAt(new Date('2040-01-01T00:00:00Z')),
      policy,
      rd,
    );
    assert.ok(failed(late).includes('pck_chain'));
    assert.match(late.checks.find((c) => c.id === 'pck_chain' && !c.ok)?.message ?? '', /expired/);
    const tcbSigning = parsePemOrDer(INTEL_SGX_TCB_SIGNING_DER);
    const foreign = verifyTdxQuote(
      { quote: q() },
      ctxAt(at, { intelRoots: tcbSigning }),
      policy,
      rd,
    );
    assert.ok(failed(foreign).includes('pck_chain'));
  });

  test('pinned roots have the documented fingerprints', () => {
    const fp = (der: Uint8Array) =>
      createHash('sha256').update(parsePemOrDer(der)[0]!.der).digest('hex');
    assert.equal(fp(INTEL_SGX_ROOT_CA_DER), INTEL_SGX_ROOT_CA_SHA256);
    assert.equal(fp(INTEL_SGX_TCB_SIGNING_DER), INTEL_SGX_TCB_SIGNING_SHA256);
  });
});

describe('TDX verify: collateral (TCB info, QE identity, CRLs)', { skip }, () => {
  if (skip) return;
  const q6 = 'tdx/trustee/tdx_quote_6.dat';
  const trustee: TdxCollateral = {
    tcbInfo: vec('tdx/trustee/tcbInfo.json'),
    qeIdentity: vec('tdx/trustee/enclaveIdentity.json'),
  };
  // Inside tcbInfo (2025-10-27..11-26), QE identity (2025-10-28..11-27) and the PCK chain.
  const at = new Date('2025-11-10T00:00:00Z');
  const anyStatus = strictTdxPolicy({
    ...NO_CRLS,
    acceptedTcbStatuses: [
      'UpToDate',
      'SWHardeningNeeded',
      'ConfigurationNeeded',
      'ConfigurationAndSWHardeningNeeded',
      'OutOfDate',
      'OutOfDateConfigurationNeeded',
    ],
  });

  test('tdx_quote_6 + trustee collateral: signatures, freshness, FMSPC, QE identity; TCB status reported', () => {
    const r = verifyTdxQuote({ quote: vec(q6), collateral: trustee }, ctxAt(at), anyStatus);
    assert.deepEqual(failed(r), []);
    assert.ok(passed(r, 'collateral') && passed(r, 'tcb') && passed(r, 'qe_identity'));
    assert.equal(typeof r.fields['tcb_status'], 'string');
    // The same quote under the default policy: its status decides the tcb check (and only it).
    const strict = verifyTdxQuote(
      { quote: vec(q6), collateral: trustee },
      ctxAt(at),
      strictTdxPolicy(NO_CRLS),
    );
    const okStatus = ['UpToDate', 'SWHardeningNeeded'].includes(String(r.fields['tcb_status']));
    assert.deepEqual(failed(strict), okStatus ? [] : ['tcb']);
  });

  test('expired collateral at --at fails collateral', () => {
    const r = verifyTdxQuote(
      { quote: vec(q6), collateral: trustee },
      ctxAt(new Date('2025-12-15T00:00:00Z')),
      anyStatus,
    );
    // Past nextUpdate, and (issued 2025-10-27/28) older than the 31-day maximum age.
    assert.deepEqual(failed(r), ['collateral', 'collateral', 'collateral', 'collateral']);
    const msgs = r.checks.filter((c) => !c.ok).map((c) => c.message);
    assert.equal(msgs.filter((m) => /nextUpdate/.test(m)).length, 2);
    assert.ok(
      msgs.some((m) =>
        /tcb_info: expected at most 31 days old, got 48\.\d days \(issued 2025-10-27/.test(m),
      ),
    );
  });

  test('maximum age (policy maxCollateralAgeDays): inside nextUpdate but too old is refused, naming item and age', () => {
    const t = new Date('2025-11-20T00:00:00Z');
    const ok = verifyTdxQuote({ quote: vec(q6), collateral: trustee }, ctxAt(t), anyStatus);
    assert.deepEqual(failed(ok), []);
    const r = verifyTdxQuote(
      { quote: vec(q6), collateral: trustee },
      ctxAt(t),
      strictTdxPolicy({ ...anyStatus, maxCollateralAgeDays: 10 }),
    );
    assert.deepEqual(failed(r), ['collateral', 'collateral']);
    const msgs = r.checks.filter((c) => !c.ok).map((c) => c.message);
    assert.ok(
      msgs.some((m) => /tcb_info: expected at most 10 days old, got 23\.\d days/.test(m)),
      msgs.join(),
    );
    assert.ok(
      msgs.some((m) => /qe_identity: expected at most 10 days old, got 2\d\.\d days/.test(m)),
      msgs.join(),
    );
  });

  test('a tampered collateral byte breaks its signature (exact-bytes signing)', () => {
    const t = vec('tdx/trustee/tcbInfo.json');
    const s = new TextDecoder().decode(t);
    const i = s.indexOf('"tcbDate":"2024') + '"tcbDate":"'.length + 3;
    t[i] = '3'.charCodeAt(0); // 2024 -> 2023
    const r = verifyTdxQuote(
      { quote: vec(q6), collateral: { ...trustee, tcbInfo: t } },
      ctxAt(at),
      anyStatus,
    );
    assert.deepEqual(failed(r), ['collateral']);
    assert.match(r.checks.find((c) => !c.ok)?.message ?? '', /tcb_info\.signature/);
    // Re-serializing the JSON (same content, different bytes) also fails: the signature covers bytes.
    const reser = new TextEncoder().encode(JSON.stringify(JSON.parse(s), null, 1));
    const r2 = verifyTdxQuote(
      { quote: vec(q6), collateral: { ...trustee, tcbInfo: reser } },
      ctxAt(at),
      anyStatus,
    );
    assert.deepEqual(failed(r2), ['collateral']);
  });

  test('TCB info for another FMSPC is rejected', () => {
    const other = vec('tdx/lunal-attestation-rs/collateral/tcb_info_50806f000000.json');
    const r = verifyTdxQuote(
      { quote: vec(q6), collateral: { tcbInfo: other } },
      ctxAt(new Date('2026-03-20T00:00:00Z')),
      anyStatus,
    );
    assert.ok(r.checks.some((c) => c.id === 'collateral' && !c.ok && /fmspc/.test(c.message)));
  });

  test('2026-03 collateral set with CRLs for the FMSPC 50806f000000 and 90c06f000000 quotes', () => {
    const crls = new Map([
      ['pck_platform', vec('tdx/lunal-attestation-rs/collateral/pck_crl_platform.der')],
      ['root', vec('tdx/lunal-attestation-rs/collateral/root_ca_crl.der')],
    ]);
    const qe = vec('tdx/lunal-attestation-rs/collateral/td_qe_identity.json');
    const t = new Date('2026-03-20T00:00:00Z');
    for (const [quote, tcb] of [
      ['tdx/trustee/tdx_quote_4.dat', 'tcb_info_50806f000000.json'],
      ['tdx/go-tdx-guest/tdx_prod_quote_SPR_E4.dat', 'tcb_info_50806f000000.json'],
      ['tdx/trustee/tdx_quote_5.dat', 'tcb_info_90c06f000000.json'],
      ['tdx/go-tdx-guest/quote_v5_sample.dat', 'tcb_info_90c06f000000.json'],
    ] as const) {
      const r = verifyTdxQuote(
        {
          quote: vec(quote),
          collateral: {
            tcbInfo: vec(`tdx/lunal-attestation-rs/collateral/${tcb}`),
            qeIdentity: qe,
            crls,
          },
        },
        ctxAt(t),
        { ...anyStatus, allowDebug: true, requireSeptVeDisable: false },
      );
      const bad = r.checks.filter((c) => !c.ok);
      // Only TCB-level matching may fail (an old platform may match no level: "TCB unrecognized").
      assert.ok(
        bad.every((c) => c.id === 'tcb'),
        `${quote}: ${JSON.stringify(bad)}`,
      );
      assert.ok(passed(r, 'collateral'), quote);
      assert.ok(passed(r, 'qe_identity'), quote);
    }
  });

  test('stale CRL and a CRL whose issuer is not in the chain fail collateral', () => {
    const r = verifyTdxQuote(
      {
        quote: vec(q6),
        collateral: { ...trustee, crls: new Map([['old', vec('tdx/go-tdx-guest/pckcrl')]]) },
      },
      ctxAt(at),
      anyStatus,
    );
    // Outside its window, and (2023-06) far older than the maximum age.
    assert.deepEqual(failed(r), ['collateral', 'collateral']);
    const msgs = r.checks.filter((c) => !c.ok).map((c) => c.message);
    assert.ok(msgs.some((m) => /thisUpdate/.test(m)));
    assert.ok(msgs.some((m) => /crl\.old \(PCK CRL\): expected at most 31 days old/.test(m)));
  });

  test('a bare quote is refused by default, each missing item named; relaxations are reported', () => {
    const r = verifyTdxQuote({ quote: vec(q6) }, ctxAt(at), strictTdxPolicy());
    assert.deepEqual(failed(r).sort(), [...TDX_COLLATERAL_MISSING]);
    assert.ok(passed(r, 'quote_signature') && passed(r, 'qe_report') && passed(r, 'pck_chain'));
    const relaxed = verifyTdxQuote(
      { quote: vec(q6) },
      ctxAt(at),
      strictTdxPolicy({
        allowMissingTcbInfo: true,
        allowMissingQeIdentity: true,
        allowMissingPckCrl: true,
        allowMissingRootCaCrl: true,
      }),
    );
    assert.deepEqual(failed(relaxed), []);
    assert.deepEqual(
      relaxed.checks.filter((c) => c.id.startsWith('relaxed.')).map((c) => c.id),
      [
        'relaxed.allowMissingTcbInfo',
        'relaxed.allowMissingQeIdentity',
        'relaxed.allowMissingPckCrl',
        'relaxed.allowMissingRootCaCrl',
      ],
    );
    assert.ok(
      relaxed.checks.every((c) => !c.id.startsWith('relaxed.') || /^RELAXED/.test(c.message)),
    );
    // Each relaxation lifts only its own item.
    const onlyCrls = verifyTdxQuote(
      { quote: vec(q6), collateral: trustee },
      ctxAt(at),
      strictTdxPolicy({ ...anyStatus, allowMissingRootCaCrl: false }),
    );
    assert.deepEqual(failed(onlyCrls), ['collateral.root_ca_crl']);
  });
});

describe('TDX verify: CCEL replay (EXPECTED.json tdx_ccel)', { skip }, () => {
  if (skip) return;
  for (const e of tdxExpected().tdx_ccel) {
    test(e.ccel, () => {
      const againstPath = e.against.split(' ')[0]!;
      const expectAll = Object.values(e.expected).every(Boolean);
      if (againstPath.endsWith('.bin') && againstPath.includes('tdreport')) {
        // Against a TDREPORT: compare the replay with its RTMRs directly.
        const td = parseTdReport(vec(againstPath));
        const qe = tdxExpected().tdx_quotes.find(
          (x) => x.quote === 'tdx/lunal-attestation-rs/tdx_quote_live.dat',
        )!;
        // The quote from the same machine has a different RTMR2, so the check must fail against it …
        const r = verifyTdxQuote(
          { quote: vec(qe.quote), ccel: vec(e.ccel) },
          ctxAt(inside(qe.pck_chain_valid_window)),
          cryptoOnly,
        );
        assert.ok(failed(r).includes('rtmr'));
        // … and the replay equals the TDREPORT's registers.
        const msg = r.checks.filter((c) => c.id === 'rtmr' && !c.ok).map((c) => c.message);
        for (let i = 0; i < 4; i++) {
          const key = `rtmr${i}_matches` as keyof typeof e.expected;
          const mismatch = msg.find((m) => m.startsWith(`rtmr${i}:`));
          const replayed =
            mismatch === undefined
              ? toHex(parseTdxQuote(vec(qe.quote)).body.rtmrs[i as 0])
              : /got ([0-9a-f]+) \(CCEL/.exec(mismatch)?.[1];
          assert.equal(replayed === toHex(td.rtmrs[i as 0]), e.expected[key], key);
        }
        return;
      }
      const qe = tdxExpected().tdx_quotes.find((x) => x.quote === againstPath)!;
      const r = verifyTdxQuote(
        { quote: vec(againstPath), ccel: vec(e.ccel) },
        ctxAt(inside(qe.pck_chain_valid_window)),
        cryptoOnly,
      );
      assert.equal(passed(r, 'rtmr'), expectAll);
      assert.equal(r.fields['ccel_events'], e.events);
    });
  }

  test('a CCEL with one event digest changed fails rtmr', () => {
    const e = tdxExpected().tdx_ccel[0]!;
    const log = vec(e.ccel);
    log[0x60] = (log[0x60] ?? 0) ^ 0xff; // inside the first TCG_PCR_EVENT2 digest
    const qe = tdxExpected().tdx_quotes.find((x) => x.quote === e.against)!;
    const r = verifyTdxQuote(
      { quote: vec(e.against), ccel: log },
      ctxAt(inside(qe.pck_chain_valid_window)),
      cryptoOnly,
    );
    assert.deepEqual(failed(r), ['rtmr']);
  });
});

describe('verifyTdxEvidence (EvidenceItem parts)', { skip }, () => {
  if (skip) return;
  test('quote + collateral parts, and a missing quote', () => {
    // Genuine and complete: the v5 sample quote with the 2026-03 PCS set (TCB info, TD_QE
    // identity, PCK Platform CA CRL, root CA CRL), under the strict default policy.
    const L = 'tdx/lunal-attestation-rs/collateral/';
    const parts = new Map([
      ['quote', vec('tdx/go-tdx-guest/quote_v5_sample.dat')],
      ['collateral.tcb_info', vec(`${L}tcb_info_90c06f000000.json`)],
      ['collateral.qe_identity', vec(`${L}td_qe_identity.json`)],
      ['collateral.crl.pck_platform', vec(`${L}pck_crl_platform.der`)],
      ['collateral.crl.root', vec(`${L}root_ca_crl.der`)],
    ]);
    const item: EvidenceItem = { kind: 'tdx', label: '', parts };
    const at = new Date('2026-03-20T00:00:00Z');
    const r = verifyTdxEvidence(item, ctxAt(at), DEFAULT_POLICY);
    assert.equal(r.kind, 'tdx');
    assert.ok(r.ok, JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.ok(r.checks.some((c) => c.id === 'collateral' && c.ok));
    assert.equal(r.fields['tcb_status'], 'UpToDate');
    assert.ok(!r.checks.some((c) => c.id.startsWith('relaxed.')));
    assert.equal(r.simulated, false);
    const none = verifyTdxEvidence(
      { kind: 'tdx', label: 'x', parts: new Map() },
      ctxAt(at),
      DEFAULT_POLICY,
    );
    assert.equal(none.ok, false);
    assert.equal(none.label, 'x');
  });
});

/** Test-side extraction of the HCL pieces (the HCL container parser lives in protocol/attestation/azure/). */
function hclPieces(hcl: Uint8Array): { tdReport: Uint8Array; varData: Uint8Array } {
  const dv = new DataView(hcl.buffer, hcl.byteOffset);
  const varLen = dv.getUint32(0x4c0 + 16, true);
  return {
    tdReport: hcl.subarray(0x20, 0x20 + 1024),
    varData: hcl.subarray(0x4d4, 0x4d4 + varLen),
  };
}

function azureSource(path: string): { hcl: Uint8Array; quote: Uint8Array } {
  const j = JSON.parse(new TextDecoder().decode(vec(path))) as {
    hcl_report: number[] | string;
    td_quote: number[] | string;
  };
  const dec = (v: number[] | string): Uint8Array =>
    typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64url')) : Uint8Array.from(v);
  return { hcl: dec(j.hcl_report), quote: dec(j.td_quote) };
}

describe('verifyAzureTdxHcl: every EXPECTED.json azure_hcl_tdx item', { skip }, () => {
  if (skip) return;
  for (const e of tdxExpected().azure_hcl_tdx) {
    test(e.source, () => {
      const { hcl, quote } = azureSource(e.source);
      const pieces = hclPieces(hcl);
      assert.equal(pieces.varData.length, e.var_data_len);
      const leaf = parsePemOrDer(new TextDecoder().decode(parseTdxQuote(quote).pckChainPem))[0]!;
      const at = new Date(leaf.notBefore.getTime() + 86_400_000);
      const r = verifyAzureTdxHcl({ ...pieces, quote }, ctxAt(at), cryptoOnly);
      assert.equal(passed(r, 'runtime_claims'), e.expected['report_data_is_sha256_of_var_data']);
      assert.equal(passed(r, 'quote_signature'), e.expected['td_quote_signature_valid']);
      assert.equal(
        passed(r, 'tdreport'),
        Boolean(
          e.expected['td_quote_report_data_equals_tdreport'] &&
          e.expected['td_quote_mrtd_equals_tdreport'],
        ),
      );
      assert.equal(r.fields['tdreport_report_data'], e.tdreport_report_data);
      assert.equal(r.fields['tdreport_mrtd'], e.tdreport_mrtd);
    });
  }

  test('raw hcl-report.bin + td-quote.bin; tampered var_data and a foreign quote fail', () => {
    const hcl = vec('tdx/azure-hcl/trustee/hcl-report.bin');
    const quote = vec('tdx/azure-hcl/trustee/td-quote.bin');
    const e = quoteItem('tdx/azure-hcl/trustee/td-quote.bin');
    const ctx = ctxAt(inside(e.pck_chain_valid_window));
    const pieces = hclPieces(hcl);
    assert.ok(verifyAzureTdxHcl({ ...pieces, quote }, ctx, cryptoOnly).ok);
    const vd = pieces.varData.slice();
    vd[10] = (vd[10] ?? 0) ^ 1;
    assert.deepEqual(
      failed(verifyAzureTdxHcl({ ...pieces, varData: vd, quote }, ctx, cryptoOnly)),
      ['runtime_claims'],
    );
    const other = quoteItem('tdx/trustee/tdx_quote_6.dat');
    const r = verifyAzureTdxHcl(
      { ...pieces, quote: vec(other.quote) },
      ctxAt(inside(other.pck_chain_valid_window)),
      cryptoOnly,
    );
    assert.deepEqual(failed(r), ['tdreport', 'tdreport']);
  });
});
