/**
 * Every NVIDIA item of ../shared/vectors/EXPECTED.json (reports + chains, RIMs, report+RIM
 * comparisons) gives its recorded outcome. Expectations are read from EXPECTED.json, not copied.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { parseRim, verifyRim } from '../../protocol/attestation/nvidia/rim';
import { compareMeasurements } from '../../protocol/attestation/nvidia/compare';
import {
  verifyNvidiaEvidence,
  nvidiaRimRoots,
  nvidiaDeviceRoots,
} from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY, type NvidiaPolicy } from '../../protocol/attestation/nvidia/policy';
import { fromHex, toHex } from '../../protocol/attestation/nvidia/bytes';
import {
  NVIDIA_CORIM_ROOT_SHA256,
  NVIDIA_DEVICE_IDENTITY_ROOT_SHA256,
} from '../../protocol/attestation/roots/nvidia';
import type { EvidenceItem, VerificationReport } from '../../protocol/attestation/types';
import { expectedJson, sharedPath, skipUnlessShared } from '../helpers/shared';
import { assertAccepted } from '../helpers/reports';

interface ReportItem {
  report: string;
  cert_chain: string;
  note: string;
  chain_valid_window: [string, string];
  total_len: number;
  parsed_len: number;
  request_nonce: string;
  responder_nonce: string;
  n_blocks: number;
  record_len: number;
  opaque_len: number;
  opaque: Record<string, string>;
  measurements?: Record<string, string> | null;
  expected: {
    report_signature_valid: boolean;
    cert_chain_valid_to_nvidia_device_root: boolean;
    fwid_matches: boolean | null;
    request_nonce_equals: string;
    nonce_matches: boolean;
  };
}
interface RimItem {
  rim: string;
  colloquialVersion: string;
  n_measurements: number;
  n_active: number;
  chain_valid_window: [string, string];
  expected: {
    xml_digest_valid: boolean;
    xml_signature_valid: boolean;
    cert_chain_valid_to_rim_root: boolean;
  };
}
interface CompareItem {
  report: string;
  driver_rim: string;
  vbios_rim: string;
  note: string;
  report_driver_version: string;
  report_vbios_version: string;
  driver_rim_version: string;
  vbios_rim_version: string;
  n_golden_active: number;
  expected: {
    driver_version_matches: boolean;
    vbios_version_matches: boolean;
    measurements_match: boolean;
    mismatched_indexes_0based: [number, string][];
  };
}

const skip = skipUnlessShared('vectors', 'EXPECTED.json');
const E = skip
  ? null
  : (expectedJson() as {
      nvidia_reports: ReportItem[];
      nvidia_rims: RimItem[];
      nvidia_rim_compare: CompareItem[];
    });
const vec = (p: string): Buffer => readFileSync(sharedPath('vectors', p)!);

/** A time inside a window [from, to] (9999 upper bounds are clamped): 1 day after the start. */
function inside(w: [string, string]): Date {
  const from = new Date(w[0].replace(' ', 'T'));
  return new Date(from.getTime() + 86_400_000);
}

const offlinePolicy: NvidiaPolicy = {
  ...DEFAULT_NVIDIA_POLICY,
  requireCcMode: false,
  // Signature / chain / FWID outcomes of every report: the vector set has no RIMs or OCSP for
  // most of them, so those inputs are relaxed here, explicitly (the defaults refuse them:
  // test/unit/attest-fail-closed.test.ts).
  allowMissingRims: true,
  allowMissingDeviceOcsp: true,
  allowMissingRimOcsp: true,
};
const allOk = (r: VerificationReport, id: string): boolean => {
  const cs = r.checks.filter((c) => c.id === id);
  return cs.length > 0 && cs.every((c) => c.ok);
};

function itemFor(
  e: { report: string },
  chain: string,
  extra: [string, Uint8Array][] = [],
): EvidenceItem {
  return {
    kind: /switch/.test(e.report) ? 'nvidia-switch' : 'nvidia-gpu',
    label: '',
    parts: new Map<string, Uint8Array>([
      ['report', vec(e.report)],
      ['chain', vec(chain)],
      ...extra,
    ]),
  };
}

describe('NVIDIA vectors: reports and chains (EXPECTED.nvidia_reports)', { skip }, () => {
  for (const e of E?.nvidia_reports ?? []) {
    test(`${e.report} + ${e.cert_chain}`, () => {
      const bytes = reportBytesFromInput(vec(e.report));
      assert.equal(bytes.length, e.total_len);
      const r = parseNvidiaReport(bytes);
      assert.equal(r.parsedLength, e.parsed_len);
      assert.equal(r.trailingBytes, e.total_len - e.parsed_len);
      assert.equal(toHex(r.request.nonce), e.request_nonce);
      assert.equal(toHex(r.responderNonce), e.responder_nonce);
      assert.equal(r.numberOfBlocks, e.n_blocks);
      assert.equal(r.recordLength, e.record_len);
      assert.equal(r.opaqueLength, e.opaque_len);
      for (const [k, v] of Object.entries(e.opaque))
        assert.equal(r.opaque.display[k], v, `opaque ${k}`);
      for (const [k, v] of Object.entries(e.measurements ?? {})) {
        assert.equal(toHex(r.blocks.find((b) => b.index === Number(k))!.value), v, `block ${k}`);
      }
      const at = inside(e.chain_valid_window);
      const rep = verifyNvidiaEvidence(
        itemFor(e, e.cert_chain),
        { crypto: nodeProvider, now: () => at },
        offlinePolicy,
        {
          gpuNonce: fromHex(e.expected.request_nonce_equals, 'nonce'),
        },
      );
      assert.equal(allOk(rep, 'signature'), e.expected.report_signature_valid, 'signature');
      assert.equal(
        allOk(rep, 'cert_chain'),
        e.expected.cert_chain_valid_to_nvidia_device_root,
        'cert_chain',
      );
      if (e.expected.fwid_matches === null) {
        assert.match(rep.checks.find((c) => c.id === 'fwid')!.message, /skipped: NVSwitch/);
      } else assert.equal(allOk(rep, 'fwid'), e.expected.fwid_matches, 'fwid');
      assert.equal(allOk(rep, 'nonce'), e.expected.nonce_matches, 'nonce');
      const positive =
        e.expected.report_signature_valid &&
        e.expected.cert_chain_valid_to_nvidia_device_root &&
        e.expected.fwid_matches !== false;
      assert.equal(
        rep.ok,
        positive,
        rep.checks
          .filter((c) => !c.ok)
          .map((c) => c.message)
          .join('\n'),
      );
      assert.equal(rep.simulated, false);
    });
  }
});

describe('NVIDIA vectors: RIMs (EXPECTED.nvidia_rims)', { skip }, () => {
  for (const e of E?.nvidia_rims ?? []) {
    test(e.rim, () => {
      const rim = parseRim(vec(e.rim));
      assert.equal(rim.colloquialVersion, e.colloquialVersion);
      assert.equal(rim.measurements.length, e.n_measurements);
      assert.equal(rim.measurements.filter((m) => m.active).length, e.n_active);
      const at = inside(e.chain_valid_window);
      const v = verifyRim(nodeProvider, vec(e.rim), { roots: nvidiaRimRoots(), at }, 'rim.x');
      const ok = (id: string): boolean =>
        v.checks.filter((c) => c.id === id).every((c) => c.ok) && v.checks.some((c) => c.id === id);
      assert.equal(ok('rim.x.digest'), e.expected.xml_digest_valid);
      assert.equal(ok('rim.x.signature'), e.expected.xml_signature_valid);
      assert.equal(ok('rim.x.cert_chain'), e.expected.cert_chain_valid_to_rim_root);
      // After the signer certificate expired, the chain check fails with a message naming it.
      const after = new Date(new Date(e.chain_valid_window[1].replace(' ', 'T')).getTime() + 1000);
      const late = verifyRim(
        nodeProvider,
        vec(e.rim),
        { roots: nvidiaRimRoots(), at: after },
        'rim.x',
      );
      const chainChecks = late.checks.filter((c) => c.id === 'rim.x.cert_chain');
      assert.ok(chainChecks.some((c) => !c.ok && /expired/.test(c.message)));
    });
  }
});

describe('NVIDIA vectors: report vs RIMs (EXPECTED.nvidia_rim_compare)', { skip }, () => {
  for (const e of E?.nvidia_rim_compare ?? []) {
    test(`${e.note}`, () => {
      const report = parseNvidiaReport(reportBytesFromInput(vec(e.report)));
      assert.equal(report.opaque.driverVersion, e.report_driver_version);
      assert.equal(report.opaque.vbiosVersion, e.report_vbios_version);
      const drv = parseRim(vec(e.driver_rim));
      const vb = parseRim(vec(e.vbios_rim));
      assert.equal(drv.colloquialVersion, e.driver_rim_version);
      assert.equal(vb.colloquialVersion, e.vbios_rim_version);
      const c = compareMeasurements(report, drv, vb);
      const ok = (id: string): boolean => c.checks.find((x) => x.id === id)!.ok;
      assert.equal(ok('rim.driver.version'), e.expected.driver_version_matches);
      assert.equal(ok('rim.vbios.version'), e.expected.vbios_version_matches);
      assert.equal(ok('measurements'), e.expected.measurements_match);
      assert.equal(c.goldenActive, e.n_golden_active);
      assert.deepEqual(
        c.mismatches.map((m) => [m.index, m.source]),
        e.expected.mismatched_indexes_0based,
      );
    });
  }

  test('the positive end-to-end pair verifies fully at 2025-08-21 (report + chain + both RIMs + device OCSP)', () => {
    const e = E!.nvidia_rim_compare.find((x) => x.expected.measurements_match)!;
    const r0 = E!.nvidia_reports.find((x) => x.report === e.report)!;
    const ocsp = (n: string): Uint8Array =>
      Buffer.from(vec(`nvidia/go-nvattest-tools/ocsp/${n}`).toString('latin1').trim(), 'base64');
    const item = itemFor(e, r0.cert_chain, [
      ['rim.driver', vec(e.driver_rim)],
      ['rim.vbios', vec(e.vbios_rim)],
      ['ocsp.1', ocsp('test_gpu_certificate_l4_base64encoded_ocsp_response.dat')],
      ['ocsp.2', ocsp('test_gpu_certificate_l3_base64encoded_ocsp_response.dat')],
      ['ocsp.3', ocsp('test_gpu_certificate_l2_base64encoded_ocsp_response.dat')],
    ]);
    // Inside the device-chain OCSP window (one day from 2025-08-21T06:47) and the RIM chains'.
    const at = new Date('2025-08-21T12:00:00Z');
    const rep = verifyNvidiaEvidence(
      item,
      { crypto: nodeProvider, now: () => at },
      // The RIM-chain OCSP responses in the vector set date from 2025-10-24 (no common time with
      // the device chain's): relaxed explicitly, and reported as RELAXED.
      { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false, allowMissingRimOcsp: true },
      {
        gpuNonce: fromHex(r0.request_nonce, 'nonce'),
      },
    );
    assertAccepted(rep);
    for (const id of [
      'signature',
      'cert_chain',
      'fwid',
      'nonce',
      'rim.driver',
      'rim.vbios',
      'measurements',
    ]) {
      assert.ok(allOk(rep, id), id);
    }
    // The same evidence after the VBIOS RIM signer expired (2026-02-22) is rejected by the RIM chain check.
    const late = verifyNvidiaEvidence(
      item,
      { crypto: nodeProvider, now: () => new Date('2026-03-01T00:00:00Z') },
      { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false },
    );
    assert.equal(late.ok, false);
    assert.ok(
      late.checks.some(
        (c) => c.id === 'rim.vbios.cert_chain' && !c.ok && /expired/.test(c.message),
      ),
    );
  });
});

describe('NVIDIA pinned roots', { skip }, () => {
  test('pinned roots equal the vectors root files and their documented fingerprints', () => {
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
    assert.equal(sha(nvidiaDeviceRoots()[0]!.der), NVIDIA_DEVICE_IDENTITY_ROOT_SHA256);
    assert.equal(sha(nvidiaRimRoots()[0]!.der), NVIDIA_CORIM_ROOT_SHA256);
    const pemDer = (p: string): string =>
      sha(
        Buffer.from(
          vec(p)
            .toString('latin1')
            .replace(/-----[^-]+-----/g, '')
            .replace(/\s+/g, ''),
          'base64',
        ),
      );
    assert.equal(
      pemDer('nvidia/nvtrust/certs/verifier_device_root.pem'),
      NVIDIA_DEVICE_IDENTITY_ROOT_SHA256,
    );
    assert.equal(pemDer('nvidia/nvtrust/certs/verifier_RIM_root.pem'), NVIDIA_CORIM_ROOT_SHA256);
  });
});
