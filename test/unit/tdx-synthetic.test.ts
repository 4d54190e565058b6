/**
 * End-to-end TDX verification against a synthetic Intel-shaped PKI (test root passed explicitly
 * as `intelRoots`): the paths no real vector covers — a CRL revoking the PCK leaf, a forged CRL,
 * TCB levels and QE identity chosen by the test, collateral signed by a controlled key.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { verifyTdxQuote } from '../../protocol/attestation/tdx/verify';
import type { TdxVerifyResult } from '../../protocol/attestation/tdx/verify';
import { tdxPolicy } from '../../protocol/attestation/tdx/policy';
import { parseCertificate } from '../../protocol/x509/index';
import { ctxAt } from '../helpers/tdx';
import { buildSyntheticTdx, synthQeIdentityJson, synthTcbInfoJson } from '../helpers/tdx-synth';

const at = new Date('2026-06-01T00:00:00Z');
const failed = (r: TdxVerifyResult): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);
const SGX = [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0];
const TDX = [5, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** For the tests of the quote's own checks without collateral (relaxed explicitly). */
const NO_COLLATERAL = {
  allowMissingTcbInfo: true,
  allowMissingQeIdentity: true,
  allowMissingPckCrl: true,
  allowMissingRootCaCrl: true,
};

describe('TDX verify against a synthetic PKI', () => {
  const s = buildSyntheticTdx();
  const ctx = ctxAt(at, { intelRoots: [parseCertificate(s.rootDer)] });
  const tcbInfo = (levels: Parameters<typeof synthTcbInfoJson>[2]) =>
    s.signedCollateral('tcbInfo', synthTcbInfoJson(at, '90c06f000000', levels));
  const upToDate = tcbInfo([{ sgx: SGX, pce: 13, tdx: TDX, status: 'UpToDate' }]);
  const qeId = s.signedCollateral('enclaveIdentity', synthQeIdentityJson(at));
  const crls = new Map([
    ['pck', s.pckCrl([7], at)],
    ['root', s.rootCrl(at)],
  ]);
  const full = { tcbInfo: upToDate, qeIdentity: qeId, tcbSigningChain: s.tcbSigningPem, crls };

  test('a well-formed synthetic quote with all collateral passes every check (strict default)', () => {
    const r = verifyTdxQuote({ quote: s.quote, collateral: full }, ctx, tdxPolicy());
    assert.deepEqual(failed(r), [], JSON.stringify(r.checks.filter((c) => !c.ok)));
    assert.equal(r.fields['tcb_status'], 'UpToDate');
    assert.equal(r.fields['qe_tcb_status'], 'UpToDate');
  });

  test('fail closed: each missing collateral item is a refusal for that reason', () => {
    const cases: [string, object, string[]][] = [
      ['tcbInfo', { tcbInfo: undefined }, ['collateral.tcb_info', 'tcb']],
      ['qeIdentity', { qeIdentity: undefined }, ['collateral.qe_identity', 'qe_identity']],
      ['PCK CRL', { crls: new Map([['root', s.rootCrl(at)]]) }, ['collateral.pck_crl']],
      ['root CA CRL', { crls: new Map([['pck', s.pckCrl([], at)]]) }, ['collateral.root_ca_crl']],
    ];
    for (const [what, drop, ids] of cases) {
      const col = { ...full, ...drop };
      const r = verifyTdxQuote({ quote: s.quote, collateral: col }, ctx, tdxPolicy());
      assert.deepEqual(failed(r).sort(), ids.sort(), what);
      assert.ok(
        r.checks.some((c) => c.id === 'quote_signature' && c.ok),
        what,
      );
    }
    // A platform marked Revoked is no longer accepted by leaving the TCB info out, nor a rogue
    // QE by leaving the QE identity out (the two synthetic findings).
    const bare = verifyTdxQuote({ quote: s.quote, collateral: { crls } }, ctx, tdxPolicy());
    assert.equal(bare.ok, false);
  });

  test('TCB info / QE identity must be signed by the Intel SGX TCB Signing certificate', () => {
    const json = synthTcbInfoJson(at, '90c06f000000', [
      { sgx: SGX, pce: 13, tdx: TDX, status: 'UpToDate' },
    ]);
    // A PCK leaf key chains to the root too; its signature over TCB info must not verify as PCS's.
    const byLeaf = verifyTdxQuote(
      {
        quote: s.quote,
        collateral: {
          ...full,
          tcbInfo: s.signedByPckLeaf('tcbInfo', json),
          tcbSigningChain: s.pckChainPem,
        },
      },
      ctx,
      tdxPolicy(),
    );
    assert.ok(failed(byLeaf).includes('collateral'));
    assert.ok(
      byLeaf.checks.some(
        (c) =>
          !c.ok &&
          /tcb_signing_chain\.subject: expected CN "Intel SGX TCB Signing", got "TEST SGX PCK Certificate"/.test(
            c.message,
          ),
      ),
      JSON.stringify(byLeaf.checks.filter((c) => !c.ok)),
    );
  });

  test('the same quote is refused under the pinned Intel root (a test root is never trusted by default)', () => {
    const r = verifyTdxQuote({ quote: s.quote }, ctxAt(at), tdxPolicy(NO_COLLATERAL));
    assert.deepEqual(failed(r), ['pck_chain']);
  });

  test('a CRL revoking the PCK leaf fails pck_chain; a CRL without it passes', () => {
    const revoked = verifyTdxQuote(
      {
        quote: s.quote,
        collateral: {
          ...full,
          crls: new Map([
            ['pck', s.pckCrl([7, s.leafSerial], at)],
            ['root', s.rootCrl(at)],
          ]),
        },
      },
      ctx,
      tdxPolicy(),
    );
    assert.deepEqual(failed(revoked), ['pck_chain']);
    assert.match(revoked.checks.find((c) => !c.ok)?.message ?? '', /revoked/);
    const clean = verifyTdxQuote({ quote: s.quote, collateral: full }, ctx, tdxPolicy());
    assert.deepEqual(failed(clean), []);
  });

  test('a CRL signed by another key fails collateral', () => {
    const r = verifyTdxQuote(
      {
        quote: s.quote,
        collateral: {
          ...full,
          crls: new Map([
            ['pck', s.pckCrl([], at, true)],
            ['root', s.rootCrl(at)],
          ]),
        },
      },
      ctx,
      tdxPolicy(),
    );
    // A forged CRL does not count as the PCK CRL either.
    assert.deepEqual(failed(r), ['collateral', 'collateral.pck_crl']);
    assert.match(r.checks.find((c) => !c.ok)?.message ?? '', /crl\.pck: signature/);
  });

  test('TCB levels: OutOfDate platform, unrecognized TCB, and an accepting policy', () => {
    const old = tcbInfo([
      { sgx: SGX, pce: 14, tdx: TDX, status: 'UpToDate' },
      { sgx: SGX, pce: 13, tdx: TDX, status: 'OutOfDate' },
    ]);
    const r = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, tcbInfo: old } },
      ctx,
      tdxPolicy(),
    );
    assert.deepEqual(failed(r), ['tcb']);
    assert.match(r.checks.find((c) => !c.ok)?.message ?? '', /got OutOfDate/);
    const accepting = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, tcbInfo: old } },
      ctx,
      tdxPolicy({ acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] }),
    );
    assert.deepEqual(failed(accepting), []);
    const none = tcbInfo([{ sgx: SGX.map((x) => x + 1), pce: 13, tdx: TDX, status: 'UpToDate' }]);
    const un = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, tcbInfo: none } },
      ctx,
      tdxPolicy(),
    );
    assert.deepEqual(failed(un), ['tcb']);
    assert.match(un.checks.find((c) => !c.ok)?.message ?? '', /unrecognized/);
  });

  test('TCB floors: SWHardeningNeeded only through the advisory-ID allowlist; SEPT_VE_DISABLE required', () => {
    const hardening = tcbInfo([
      {
        sgx: SGX,
        pce: 13,
        tdx: TDX,
        status: 'SWHardeningNeeded',
        advisories: ['INTEL-SA-00615', 'INTEL-SA-00837'],
      },
    ]);
    const col = { ...full, tcbInfo: hardening };
    const strict = verifyTdxQuote({ quote: s.quote, collateral: col }, ctx, tdxPolicy());
    assert.deepEqual(failed(strict), ['tcb']);
    assert.match(
      strict.checks.find((c) => !c.ok)!.message,
      /allowedAdvisoryIds \(missing: INTEL-SA-00615, INTEL-SA-00837\), got SWHardeningNeeded/,
    );
    const partial = verifyTdxQuote(
      { quote: s.quote, collateral: col },
      ctx,
      tdxPolicy({ allowedAdvisoryIds: ['INTEL-SA-00615'] }),
    );
    assert.match(partial.checks.find((c) => !c.ok)!.message, /missing: INTEL-SA-00837/);
    const listed = verifyTdxQuote(
      { quote: s.quote, collateral: col },
      ctx,
      tdxPolicy({ allowedAdvisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00837'] }),
    );
    assert.deepEqual(failed(listed), []);
    assert.ok(
      listed.checks.some(
        (c) =>
          c.id === 'tcb' &&
          /accepted for advisories INTEL-SA-00615, INTEL-SA-00837/.test(c.message),
      ),
    );
    // OutOfDate is never accepted through the allowlist.
    const old = tcbInfo([
      { sgx: SGX, pce: 13, tdx: TDX, status: 'OutOfDate', advisories: ['INTEL-SA-00615'] },
    ]);
    const outOfDate = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, tcbInfo: old } },
      ctx,
      tdxPolicy({ allowedAdvisoryIds: ['INTEL-SA-00615'] }),
    );
    assert.deepEqual(failed(outOfDate), ['tcb']);
    // A TD without SEPT_VE_DISABLE is refused; allowed only by turning the floor off.
    const noSept = buildSyntheticTdx({ tdAttributes: new Uint8Array(8) });
    const c2 = ctxAt(at, { intelRoots: [parseCertificate(noSept.rootDer)] });
    const col2 = {
      tcbInfo: noSept.signedCollateral(
        'tcbInfo',
        synthTcbInfoJson(at, '90c06f000000', [{ sgx: SGX, pce: 13, tdx: TDX, status: 'UpToDate' }]),
      ),
      qeIdentity: noSept.signedCollateral('enclaveIdentity', synthQeIdentityJson(at)),
      tcbSigningChain: noSept.tcbSigningPem,
      crls: new Map([
        ['pck', noSept.pckCrl([], at)],
        ['root', noSept.rootCrl(at)],
      ]),
    };
    const r = verifyTdxQuote({ quote: noSept.quote, collateral: col2 }, c2, tdxPolicy());
    assert.deepEqual(failed(r), ['policy.sept_ve_disable']);
    assert.match(r.checks.find((c) => !c.ok)!.message, /SEPT_VE_DISABLE: expected 1/);
    const off = verifyTdxQuote(
      { quote: noSept.quote, collateral: col2 },
      c2,
      tdxPolicy({ requireSeptVeDisable: false }),
    );
    assert.deepEqual(failed(off), []);
  });

  test('QE identity with another MRSIGNER fails qe_identity', () => {
    const other = s.signedCollateral('enclaveIdentity', synthQeIdentityJson(at, 'ee'.repeat(32)));
    const r = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, qeIdentity: other } },
      ctx,
      tdxPolicy(),
    );
    assert.deepEqual(failed(r), ['qe_identity']);
  });

  test('a debug-mode QE is refused even without collateral', () => {
    const dbg = buildSyntheticTdx({
      qeAttributes: Uint8Array.of(0x17, 0, 0, 0, 0, 0, 0, 0, 0xe7, 0, 0, 0, 0, 0, 0, 0),
    });
    const c = ctxAt(at, { intelRoots: [parseCertificate(dbg.rootDer)] });
    const r = verifyTdxQuote({ quote: dbg.quote }, c, tdxPolicy(NO_COLLATERAL));
    assert.deepEqual(failed(r), ['qe_report']);
    assert.match(r.checks.find((x) => !x.ok)?.message ?? '', /DEBUG/);
    // With the TD_QE identity too, the masked attributes differ as well.
    const withId = verifyTdxQuote(
      {
        quote: dbg.quote,
        collateral: {
          qeIdentity: dbg.signedCollateral('enclaveIdentity', synthQeIdentityJson(at)),
          tcbSigningChain: dbg.tcbSigningPem,
        },
      },
      c,
      tdxPolicy(NO_COLLATERAL),
    );
    assert.deepEqual(failed(withId).sort(), ['qe_identity', 'qe_report']);
  });

  test('collateral signed by the right key but for another FMSPC fails collateral', () => {
    const wrong = s.signedCollateral(
      'tcbInfo',
      synthTcbInfoJson(at, '00806f050000', [{ sgx: SGX, pce: 13, tdx: TDX, status: 'UpToDate' }]),
    );
    const r = verifyTdxQuote(
      { quote: s.quote, collateral: { ...full, tcbInfo: wrong } },
      ctx,
      tdxPolicy(),
    );
    assert.ok(failed(r).includes('collateral'));
  });
});
