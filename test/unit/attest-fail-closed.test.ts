/**
 * Fail closed (issue #13), on the real vectors of ../shared/vectors under the DEFAULT policies:
 *   - genuine TDX quotes without collateral, genuine NVIDIA GPU reports without RIMs and genuine
 *     SNP reports without an ARK-signed CRL are each refused FOR THAT REASON, while their
 *     signature and chain checks still pass and are reported;
 *   - genuine evidence with everything supplied is accepted (TDX: the v5 sample quote with the
 *     2026-03 PCS set; NVIDIA: the nvtrust sample with both RIMs and the device-chain OCSP, the
 *     RIM-chain OCSP relaxed because the vector set has none current at the same time; SNP: the
 *     vector set has no ARK-signed CRL, so a complete SNP item is shown with the simulated PKI);
 *   - the client's handshake verifier (client/verifier.ts) applies the same defaults, and names
 *     every relaxation in its verdict and summary.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  DEFAULT_POLICY as STRICT_DEFAULT_POLICY,
  mergePolicy,
} from '../../protocol/attestation/policy';
import { withoutSnpBulletinFloors } from '../helpers/vector-policy';
import { verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import { verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY } from '../../protocol/attestation/nvidia/policy';
import { reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { parseTdxQuote } from '../../protocol/attestation/tdx/quote';
import { RELAXATIONS, activeRelaxations } from '../../protocol/attestation/relax';
import type { EvidenceItem, VerificationReport } from '../../protocol/attestation/types';
import { createVerifier, DEFAULT_CLIENT_POLICY } from '../../client/verifier';
import { decodeInput } from '../../client/cli/attest-common';
import { SimulatedSnpProvider, simulatedArkCrl } from '../../enclave-server/evidence/simulated-snp';
import { buildCrl } from '../../enclave-server/evidence/x509-writer';
import { fromHex } from '../../protocol/wire/bytes';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { failedIds } from '../helpers/reports';
import { TDX_COLLATERAL_MISSING } from '../helpers/tdx';

/** The default policy without the AMD-SB-3023 SNP floors the real vectors predate (helpers/vector-policy.ts). */
const DEFAULT_POLICY = withoutSnpBulletinFloors(STRICT_DEFAULT_POLICY);

const skip = skipUnlessShared('vectors', 'EXPECTED.json');
const vec = (p: string): Uint8Array => new Uint8Array(readFileSync(sharedPath('vectors', p)!));
const passes = (r: VerificationReport, id: string): boolean =>
  r.checks.some((c) => c.id === id) && r.checks.filter((c) => c.id === id).every((c) => c.ok);
const pyDate = (s: string): Date => new Date(s.replace(' ', 'T'));
const dayAfter = (s: string): Date => new Date(pyDate(s).getTime() + 86_400_000);

interface Expected {
  sev_snp: {
    report: string;
    cert: string;
    signing_key: string;
    note: string;
    cert_not_before: string;
    expected: { report_signature_valid: boolean; cert_chain_valid: boolean };
  }[];
  tdx_quotes: {
    quote: string;
    pck_chain_valid_window: [string, string];
    expected: Record<string, boolean>;
  }[];
  nvidia_reports: {
    report: string;
    cert_chain: string;
    chain_valid_window: [string, string];
    request_nonce: string;
    expected: { report_signature_valid: boolean; cert_chain_valid_to_nvidia_device_root: boolean };
  }[];
}
const E = (): Expected =>
  JSON.parse(readFileSync(sharedPath('vectors', 'EXPECTED.json')!, 'utf8')) as Expected;

const COLLATERAL_MISSING = [...TDX_COLLATERAL_MISSING];
const L = 'tdx/lunal-attestation-rs/collateral/';
const completeTdx = (): EvidenceItem => ({
  kind: 'tdx',
  label: '',
  parts: new Map([
    ['quote', vec('tdx/go-tdx-guest/quote_v5_sample.dat')],
    ['collateral.tcb_info', vec(`${L}tcb_info_90c06f000000.json`)],
    ['collateral.qe_identity', vec(`${L}td_qe_identity.json`)],
    ['collateral.crl.pck_platform', vec(`${L}pck_crl_platform.der`)],
    ['collateral.crl.root', vec(`${L}root_ca_crl.der`)],
  ]),
});
const TDX_AT = new Date('2026-03-20T00:00:00Z');

describe('fail closed: TDX (real quotes, default policy)', { skip }, () => {
  if (skip) return;
  test('every genuine quote without collateral is refused for the missing collateral', () => {
    const genuine = E().tdx_quotes.filter((q) => Object.values(q.expected).every(Boolean));
    assert.ok(genuine.length >= 8);
    for (const q of genuine) {
      const r = verifyTdxEvidence(
        { kind: 'tdx', label: '', parts: new Map([['quote', vec(q.quote)]]) },
        { crypto: nodeProvider, now: () => dayAfter(q.pck_chain_valid_window[0]) },
        DEFAULT_POLICY,
      );
      assert.equal(r.ok, false, q.quote);
      // The reason is the missing collateral (debug TDs also fail policy.debug).
      assert.deepEqual(
        failedIds(r).filter((id) => id !== 'policy.debug' && id !== 'policy.sept_ve_disable'),
        COLLATERAL_MISSING,
        q.quote,
      );
      for (const id of ['quote_signature', 'qe_report', 'pck_chain'])
        assert.ok(passes(r, id), `${q.quote}: ${id} still verified and reported`);
    }
  });

  test('a genuine quote with everything supplied is accepted, nothing relaxed', () => {
    const r = verifyTdxEvidence(
      completeTdx(),
      { crypto: nodeProvider, now: () => TDX_AT },
      DEFAULT_POLICY,
    );
    assert.deepEqual(failedIds(r), []);
    assert.equal(r.ok, true);
    assert.ok(!r.checks.some((c) => c.id.startsWith('relaxed.')));
  });
});

describe('fail closed: NVIDIA (real GPU reports, default policy)', { skip }, () => {
  if (skip) return;
  const gpu = (r: Expected['nvidia_reports'][number]): boolean =>
    !/switch/.test(r.report) &&
    r.expected.report_signature_valid &&
    r.expected.cert_chain_valid_to_nvidia_device_root;
  const ocsp = (n: string): Uint8Array =>
    Buffer.from(
      Buffer.from(vec(`nvidia/go-nvattest-tools/ocsp/${n}`))
        .toString('latin1')
        .trim(),
      'base64',
    );
  const SAMPLE_OCSP: [string, Uint8Array][] = [
    ['ocsp.1', ocsp('test_gpu_certificate_l4_base64encoded_ocsp_response.dat')],
    ['ocsp.2', ocsp('test_gpu_certificate_l3_base64encoded_ocsp_response.dat')],
    ['ocsp.3', ocsp('test_gpu_certificate_l2_base64encoded_ocsp_response.dat')],
  ];
  const policy = { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false };
  const sample = (extra: [string, Uint8Array][]): EvidenceItem => ({
    kind: 'nvidia-gpu',
    label: 'gpu0',
    parts: new Map([
      ['report', reportBytesFromInput(vec('nvidia/nvtrust/hopperAttestationReport.txt'))],
      ['chain', vec('nvidia/nvtrust/hopperCertChain.txt')],
      ...extra,
    ]),
  });
  const NONCE = fromHex('931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb', 'n');
  const AT = new Date('2025-08-21T12:00:00Z');

  test('every genuine GPU report without RIMs is refused for the missing RIMs', () => {
    const reports = E().nvidia_reports.filter(gpu);
    assert.ok(reports.length >= 18);
    for (const e of reports) {
      const r = verifyNvidiaEvidence(
        {
          kind: 'nvidia-gpu',
          label: '',
          parts: new Map([
            ['report', reportBytesFromInput(vec(e.report))],
            ['chain', vec(e.cert_chain)],
          ]),
        },
        { crypto: nodeProvider, now: () => dayAfter(e.chain_valid_window[0]) },
        policy,
        { gpuNonce: fromHex(e.request_nonce, 'n') },
      );
      assert.equal(r.ok, false, e.report);
      const bad = failedIds(r);
      for (const id of ['measurements', 'rim.driver', 'rim.vbios'])
        assert.ok(bad.includes(id), `${e.report}: ${id}`);
      // Besides the RIMs, only the device-chain OCSP (not captured for these chains) is missing.
      assert.deepEqual(
        bad.filter((id) => !['measurements', 'rim.driver', 'rim.vbios'].includes(id)),
        ['ocsp.1', 'ocsp.2', 'ocsp.3'],
        e.report,
      );
      for (const id of ['signature', 'cert_chain', 'nonce'])
        assert.ok(passes(r, id), `${e.report}: ${id} still verified and reported`);
    }
    // With its device-chain OCSP supplied, the sample is refused for the RIMs alone.
    const r = verifyNvidiaEvidence(
      sample(SAMPLE_OCSP),
      { crypto: nodeProvider, now: () => AT },
      policy,
      {
        gpuNonce: NONCE,
      },
    );
    assert.deepEqual(failedIds(r), ['measurements', 'rim.driver', 'rim.vbios']);
  });

  test('the sample with both RIMs and device OCSP: accepted with only the RIM-chain OCSP relaxed', () => {
    const item = sample([
      ['rim.driver', vec('nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml')],
      ['rim.vbios', vec('nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml')],
      ...SAMPLE_OCSP,
    ]);
    const ctx = { crypto: nodeProvider, now: () => AT };
    const strict = verifyNvidiaEvidence(item, ctx, policy, { gpuNonce: NONCE });
    // The one item the vector set cannot supply at this time: RIM-chain OCSP (captured 2025-10-24).
    assert.ok(
      failedIds(strict).every((id) => id.startsWith('ocsp.rim.')),
      failedIds(strict).join(),
    );
    assert.ok(failedIds(strict).length > 0);
    const relaxed = verifyNvidiaEvidence(
      item,
      ctx,
      { ...policy, allowMissingRimOcsp: true },
      { gpuNonce: NONCE },
    );
    assert.deepEqual(failedIds(relaxed), []);
    assert.ok(passes(relaxed, 'measurements'));
    assert.deepEqual(
      relaxed.checks.filter((c) => c.id.startsWith('relaxed.')).map((c) => c.id),
      ['relaxed.allowMissingRimOcsp'],
    );
  });
});

describe(
  'fail closed: SEV-SNP (real reports, default policy; complete on the simulated PKI)',
  { skip },
  () => {
    if (skip) return;
    test('every genuine report without an ARK-signed CRL is refused for the missing CRL', () => {
      const genuine = E().sev_snp.filter(
        (i) =>
          i.expected.report_signature_valid &&
          i.expected.cert_chain_valid &&
          !/NEGATIVE/.test(i.note),
      );
      assert.ok(genuine.length >= 12);
      for (const it of genuine) {
        const r = verifySnpEvidence(
          {
            kind: 'sev-snp',
            label: '',
            parts: new Map([
              ['report', decodeInput(vec(it.report))],
              [it.signing_key === 'VLEK' ? 'vlek' : 'vcek', vec(it.cert)],
            ]),
          },
          { crypto: nodeProvider, now: () => dayAfter(it.cert_not_before) },
          mergePolicy(DEFAULT_POLICY, {
            snp: { allowDebug: true, permitProvisionalFirmware: true },
          }),
        );
        assert.deepEqual(failedIds(r), ['crl'], it.report);
        assert.match(r.checks.find((c) => !c.ok)!.message, /refused because it is missing/);
        for (const id of ['signature', 'cert_chain'])
          assert.ok(passes(r, id), `${it.report}: ${id} still verified and reported`);
      }
    });

    test('complete SNP evidence (simulated ARK with its stapled CRL) is accepted; a revoked VCEK is not', async () => {
      const sim = await SimulatedSnpProvider.create({ product: 'genoa', rsaBits: 2048 });
      const binding = { cpuReportData: new Uint8Array(64).fill(3), gpuNonce: new Uint8Array(32) };
      const [item] = await sim.collect(binding);
      const dev = mergePolicy(DEFAULT_POLICY, { allowSimulated: true });
      const ctx = { crypto: nodeProvider, now: () => new Date() };
      const r = verifySnpEvidence(item!, ctx, dev, binding);
      assert.deepEqual(failedIds(r), []);
      assert.ok(passes(r, 'crl'));
      // The same evidence with a CRL that revokes the VCEK (serial 0, as AMD's) is refused.
      const parts = new Map(item!.parts);
      parts.set('crl', simulatedArkCrl(sim.chain, [0], new Date()));
      const revoked = verifySnpEvidence({ ...item!, parts }, ctx, dev, binding);
      assert.deepEqual(failedIds(revoked), ['crl']);
      assert.match(revoked.checks.find((c) => !c.ok)!.message, /revoked/);
      // Freshness: a CRL without nextUpdate never expires (refused); one from the future too.
      const signWith = { keyObject: sim.chain.arkKey, alg: 'rsa-pss-sha384' as const };
      const now = new Date();
      for (const [crl, re] of [
        [
          buildCrl({ issuer: sim.chain.arkName, thisUpdate: now, signWith }),
          /without one never expires/,
        ],
        [
          buildCrl({
            issuer: sim.chain.arkName,
            thisUpdate: new Date(now.getTime() + 86_400_000),
            nextUpdate: new Date(now.getTime() + 7 * 86_400_000),
            signWith,
          }),
          /crl thisUpdate: expected <=/,
        ],
      ] as const) {
        const p2 = new Map(item!.parts);
        p2.set('crl', crl);
        const r2 = verifySnpEvidence({ ...item!, parts: p2 }, ctx, dev, binding);
        assert.deepEqual(failedIds(r2), ['crl']);
        assert.match(r2.checks.find((c) => !c.ok)!.message, re);
      }
    });
  },
);

describe('fail closed: the handshake verifier uses the same defaults', { skip }, () => {
  if (skip) return;
  const verifier = (policy = DEFAULT_CLIENT_POLICY) =>
    createVerifier({
      policy: { ...policy, require: { cpu: ['tdx'], gpu: false } },
      crypto: nodeProvider,
      allowSimulated: false,
      now: () => TDX_AT,
    });
  const binding = () => ({
    cpuReportData: parseTdxQuote(vec('tdx/go-tdx-guest/quote_v5_sample.dat')).body.reportData,
    gpuNonce: new Uint8Array(32),
  });

  test('complete TDX evidence verifies; the bare quote is refused naming the missing items', async () => {
    const ok = await verifier()([completeTdx()], binding());
    assert.equal(ok.ok, true, ok.summary);
    assert.doesNotMatch(ok.summary, /RELAXED/);
    const bare = await verifier()(
      [
        {
          kind: 'tdx',
          label: '',
          parts: new Map([['quote', vec('tdx/go-tdx-guest/quote_v5_sample.dat')]]),
        },
      ],
      binding(),
    );
    assert.equal(bare.ok, false);
    for (const id of [
      'collateral.tcb_info',
      'collateral.qe_identity',
      'collateral.pck_crl',
      'collateral.root_ca_crl',
    ])
      assert.ok(bare.summary.includes(id), id);
  });

  test('a relaxation from the (user) policy is named in the verdict line', async () => {
    const relaxedPolicy = mergePolicy(DEFAULT_CLIENT_POLICY, {
      tdx: { allowMissingRootCaCrl: true },
    });
    const item = completeTdx();
    const parts = new Map(item.parts);
    parts.delete('collateral.crl.root');
    const v = await verifier(relaxedPolicy)([{ ...item, parts }], binding());
    assert.equal(v.ok, true, v.summary);
    assert.match(v.summary, /RELAXED: allowMissingRootCaCrl/);
  });

  test('the default client policy has no relaxation on; every relaxation has a flag', () => {
    assert.deepEqual(activeRelaxations(DEFAULT_CLIENT_POLICY as never), []);
    assert.equal(new Set(RELAXATIONS.map((r) => r.flag)).size, RELAXATIONS.length);
    for (const r of RELAXATIONS) assert.match(r.flag, /^--allow-/);
  });
});
