/**
 * NVIDIA verifier: parser properties (only ProtocolError), tamper cases for every check, policy
 * checks, OCSP with the go-nvattest-tools cached responses.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { ProtocolError } from '../../protocol/errors';
import {
  parseNvidiaReport,
  reportBytesFromInput,
  REQ_LEN,
  REQ_OFF_NONCE,
} from '../../protocol/attestation/nvidia/spdm';
import { decodeOpaque, formatVbiosVersion } from '../../protocol/attestation/nvidia/opaque';
import { verifyNvidiaEvidence, checkMultiGpuPpcie } from '../../protocol/attestation/nvidia/verify';
import {
  DEFAULT_NVIDIA_POLICY,
  compareVersions,
  type NvidiaPolicy,
} from '../../protocol/attestation/nvidia/policy';
import { parseOcspResponse, checkOcspForChain } from '../../protocol/attestation/nvidia/ocsp';
import { parseCcStatus, encodeCcStatus } from '../../protocol/attestation/nvidia/cc-status';
import { fromHex } from '../../protocol/attestation/nvidia/bytes';
import { parsePemOrDer } from '../../protocol/x509/index';
import type { EvidenceItem, VerificationReport } from '../../protocol/attestation/types';
import { sharedPath, skipUnlessShared } from '../helpers/shared';
import { failedIds as failed, assertAccepted } from '../helpers/reports';

const skip = skipUnlessShared('vectors', 'nvidia');
const vec = (p: string): Buffer => readFileSync(sharedPath('vectors', p)!);
const SAMPLE = 'nvidia/nvtrust/hopperAttestationReport.txt';
const SAMPLE_CHAIN = 'nvidia/nvtrust/hopperCertChain.txt';
const DRIVER_RIM = 'nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml';
const VBIOS_RIM = 'nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml';
const SAMPLE_NONCE = '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb';
/**
 * Inside the driver+VBIOS RIM chains' window (2024-06-01..2026-02-22) and the device-chain OCSP
 * responses' window (2025-08-21T06:47..2025-08-22T06:47).
 */
const AT = new Date('2025-08-21T12:00:00Z');
const ocspVec = (n: string): Uint8Array =>
  Buffer.from(vec(`nvidia/go-nvattest-tools/ocsp/${n}`).toString('latin1').trim(), 'base64');
/** Device-chain OCSP (certificates 1..3; the leaf is not in OCSP), as go-nvattest-tools cached it. */
const deviceOcsp = (): [string, Uint8Array][] => [
  ['ocsp.1', ocspVec('test_gpu_certificate_l4_base64encoded_ocsp_response.dat')],
  ['ocsp.2', ocspVec('test_gpu_certificate_l3_base64encoded_ocsp_response.dat')],
  ['ocsp.3', ocspVec('test_gpu_certificate_l2_base64encoded_ocsp_response.dat')],
];
/**
 * The one relaxation the vector set forces: its RIM-chain OCSP responses were captured on
 * 2025-10-24, two months after the device-chain ones (which expire after a day), so no single
 * time has both. Tests of other checks relax the RIM-chain OCSP explicitly; the tests below show
 * the default refusing for exactly that reason.
 */
const RIM_OCSP_RELAXED: Partial<NvidiaPolicy> = { allowMissingRimOcsp: true };
const CC_ON = encodeCcStatus({
  ccFeature: 'on',
  devToolsMode: 'off',
  environment: 'production',
  multiGpuMode: 'none',
  gpuCount: 1,
});

function sampleItem(over: Record<string, Uint8Array | undefined> = {}): EvidenceItem {
  const parts = new Map<string, Uint8Array>([
    ['report', reportBytesFromInput(vec(SAMPLE))],
    ['chain', vec(SAMPLE_CHAIN)],
    ['rim.driver', vec(DRIVER_RIM)],
    ['rim.vbios', vec(VBIOS_RIM)],
    ['cc', CC_ON],
    ...(skip ? [] : deviceOcsp()),
  ]);
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) parts.delete(k);
    else parts.set(k, v);
  }
  return { kind: 'nvidia-gpu', label: 'gpu0', parts };
}

function run(
  item: EvidenceItem,
  policy: Partial<NvidiaPolicy> = {},
  nonce = SAMPLE_NONCE,
  at = AT,
): VerificationReport {
  return verifyNvidiaEvidence(
    item,
    { crypto: nodeProvider, now: () => at },
    { ...DEFAULT_NVIDIA_POLICY, ...RIM_OCSP_RELAXED, ...policy },
    { gpuNonce: fromHex(nonce, 'n') },
  );
}

describe('NVIDIA verification: positive and tamper cases', { skip }, () => {
  test('the untouched sample with RIMs and CC status verifies', () => {
    const r = run(sampleItem());
    assertAccepted(r);
    assert.equal(r.fields['driver_version'], '550.90.07');
    assert.equal(r.fields['vbios_version'], '96.00.9F.00.01');
  });

  test('a flipped measurement byte fails the signature and the measurement comparison', () => {
    const b = reportBytesFromInput(vec(SAMPLE)).slice();
    // Block 8 (RIM index 7, a driver golden value) value starts at 37 + 8 + 7*55 + 7.
    const off = REQ_LEN + 8 + 7 * 55 + 7;
    b[off] = b[off]! ^ 0x01;
    const r = run(sampleItem({ report: b }));
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['measurements', 'signature']);
    assert.match(r.checks.find((c) => c.id === 'measurements')!.message, /\[driver 7\]/);
  });

  test('a wrong session nonce fails only the nonce check, naming both values', () => {
    const other = 'ab'.repeat(32);
    const r = run(sampleItem(), {}, other);
    assert.deepEqual(failed(r), ['nonce']);
    const m = r.checks.find((c) => c.id === 'nonce')!.message;
    assert.ok(m.includes(other) && m.includes(SAMPLE_NONCE));
  });

  test('a rewritten request nonce (to match the session) breaks the signature', () => {
    const b = reportBytesFromInput(vec(SAMPLE)).slice();
    const mine = fromHex('cd'.repeat(32), 'n');
    b.set(mine, REQ_OFF_NONCE);
    const r = run(sampleItem({ report: b }), {}, 'cd'.repeat(32));
    assert.deepEqual(failed(r), ['signature']);
  });

  test('a swapped leaf (another GPU of the same model) fails signature and FWID', () => {
    const other = parsePemOrDer(vec('nvidia/trustee/hopper_coco_certs1.txt'));
    const mine = parsePemOrDer(vec(SAMPLE_CHAIN));
    const pem = (ders: Uint8Array[]): Uint8Array =>
      Buffer.from(
        ders
          .map(
            (d) =>
              `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString('base64')}\n-----END CERTIFICATE-----\n`,
          )
          .join(''),
      );
    const swapped = pem([other[0]!.der, ...mine.slice(1).map((c) => c.der)]);
    const r = run(sampleItem({ chain: swapped }));
    assert.ok(failed(r).includes('signature'));
    assert.ok(failed(r).includes('fwid'));
  });

  test('chain given as concatenated DER is accepted', () => {
    const der = Buffer.concat(parsePemOrDer(vec(SAMPLE_CHAIN)).map((c) => Buffer.from(c.der)));
    assert.equal(run(sampleItem({ chain: der })).ok, true);
  });

  test('trailing non-zero bytes are rejected at parse; zero padding is tolerated and reported', () => {
    const b = reportBytesFromInput(vec(SAMPLE));
    const padded = Buffer.concat([b, Buffer.from([0, 0])]);
    const r = run(sampleItem({ report: padded }));
    assert.equal(r.ok, true);
    assert.equal(r.fields['trailing_bytes'], 2);
    const junk = Buffer.concat([b, Buffer.from([1])]);
    assert.deepEqual(failed(run(sampleItem({ report: junk }))), ['parse']);
  });

  test('missing RIMs are a refusal by default, for that reason; allowMissingRims relaxes it (RELAXED)', () => {
    const r = run(sampleItem({ 'rim.driver': undefined, 'rim.vbios': undefined }));
    assert.deepEqual(failed(r), ['measurements', 'rim.driver', 'rim.vbios']);
    assert.match(r.checks.find((c) => c.id === 'rim.driver')!.message, /allowMissingRims/);
    // The signature, chain, FWID and nonce checks still pass and are reported.
    for (const id of ['signature', 'cert_chain', 'fwid', 'nonce'])
      assert.ok(
        r.checks.some((c) => c.id === id && c.ok),
        id,
      );
    const relaxed = run(sampleItem({ 'rim.driver': undefined, 'rim.vbios': undefined }), {
      allowMissingRims: true,
    });
    assert.equal(relaxed.ok, true);
    assert.ok(
      relaxed.checks.some((c) => c.id === 'relaxed.allowMissingRims' && /^RELAXED/.test(c.message)),
    );
    assert.deepEqual(failed(run(sampleItem({ 'rim.vbios': undefined }))), ['rim.vbios']);
  });

  test('driver and VBIOS RIMs swapped fail the version checks and the comparison', () => {
    const r = run(sampleItem({ 'rim.driver': vec(VBIOS_RIM), 'rim.vbios': vec(DRIVER_RIM) }));
    assert.ok(failed(r).includes('rim.driver.version'));
    assert.ok(failed(r).includes('rim.vbios.version'));
  });

  test('the same RIM as driver and VBIOS fails the overlap rule', () => {
    const r = run(sampleItem({ 'rim.vbios': vec(DRIVER_RIM) }));
    assert.ok(failed(r).includes('rim.overlap'));
  });

  test('a missing or wrong kind of part is a failed check, never an exception', () => {
    assert.deepEqual(failed(run(sampleItem({ report: undefined }))), ['parse']);
    assert.ok(failed(run(sampleItem({ chain: undefined }))).includes('cert_chain'));
    assert.ok(failed(run(sampleItem({ chain: Buffer.from('garbage') }))).includes('cert_chain'));
    const sw = run({ ...sampleItem(), kind: 'nvidia-switch' });
    assert.ok(failed(sw).includes('kind'));
    assert.ok(failed(run(sampleItem({ cc: Buffer.from('{"ccFeature":"maybe"}') }))).includes('cc'));
  });

  test('a simulated root supplied in the evidence is refused without policy.allowSimulated', () => {
    // Any root that is not pinned (here NVIDIA's RIM root offered as the device root) is refused.
    const other = parsePemOrDer(vec('nvidia/nvtrust/certs/verifier_RIM_root.pem'))[0]!;
    const r = run(sampleItem({ 'sim.root': other.der }));
    assert.deepEqual(failed(r), ['simulated']);
    // The evidence's copy of the pinned root itself adds nothing and takes nothing away.
    const root = parsePemOrDer(vec('nvidia/nvtrust/certs/verifier_device_root.pem'))[0]!;
    const same = run(sampleItem({ 'sim.root': root.der }));
    assert.deepEqual(failed(same), []);
    assert.equal(same.simulated, false);
  });
});

describe('NVIDIA policy checks', { skip }, () => {
  test('allowed driver / VBIOS versions and the driver floor', () => {
    assert.equal(
      run(sampleItem(), {
        allowedDriverVersions: ['550.90.07'],
        allowedVbiosVersions: ['96.00.9f.00.01'],
        minDriverVersion: '550.0',
      }).ok,
      true,
    );
    assert.deepEqual(failed(run(sampleItem(), { allowedDriverVersions: ['570.124.06'] })), [
      'policy.driver_version',
    ]);
    assert.deepEqual(failed(run(sampleItem(), { allowedVbiosVersions: ['96.00.74.00.1A'] })), [
      'policy.vbios_version',
    ]);
    assert.deepEqual(failed(run(sampleItem(), { minDriverVersion: '570.124.06' })), [
      'policy.min_driver_version',
    ]);
  });

  test('CC mode required, devtools rejected, production environment required', () => {
    const cc = (o: object): Uint8Array =>
      Buffer.from(
        JSON.stringify({
          ccFeature: 'on',
          devToolsMode: 'off',
          environment: 'production',
          multiGpuMode: 'none',
          gpuCount: 1,
          ...o,
        }),
      );
    // No CC status: both the CC-mode and the devtools checks refuse (the devtools check is no
    // longer skipped when the status is absent).
    assert.deepEqual(failed(run(sampleItem({ cc: undefined }))), [
      'policy.cc_mode',
      'policy.devtools',
    ]);
    assert.equal(run(sampleItem({ cc: undefined }), { requireCcMode: false }).ok, true);
    // The status is unsigned, and every CC message says so.
    const on = run(sampleItem());
    for (const id of ['policy.cc_mode', 'policy.devtools', 'policy.cc_environment'])
      assert.match(on.checks.find((c) => c.id === id)!.message, /UNSIGNED NVML claim/, id);
    // It can only refuse: a CC-on claim never makes a report with a failed signed check pass.
    const t = reportBytesFromInput(vec(SAMPLE)).slice();
    t[100] = (t[100] ?? 0) ^ 1;
    assert.equal(run(sampleItem({ report: t })).ok, false);
    assert.deepEqual(failed(run(sampleItem({ cc: cc({ ccFeature: 'off' }) }))), ['policy.cc_mode']);
    assert.deepEqual(failed(run(sampleItem({ cc: cc({ devToolsMode: 'on' }) }))), [
      'policy.devtools',
    ]);
    assert.deepEqual(failed(run(sampleItem({ cc: cc({ environment: 'simulation' }) }))), [
      'policy.cc_environment',
    ]);
    assert.equal(
      run(sampleItem({ cc: cc({ devToolsMode: 'on' }) }), { rejectDevtools: false }).ok,
      true,
    );
  });

  test('PPCIe required for multi-GPU: the sample (PPCIe off) fails with 2 GPUs; a PPCIe report passes', () => {
    const cc2 = Buffer.from(
      JSON.stringify({
        ccFeature: 'on',
        devToolsMode: 'off',
        environment: 'production',
        multiGpuMode: 'protected-pcie',
        gpuCount: 8,
      }),
    );
    assert.deepEqual(failed(run(sampleItem({ cc: cc2 }), { requirePpcieForMultiGpu: true })), [
      'policy.ppcie',
    ]);
    const pp: EvidenceItem = {
      kind: 'nvidia-gpu',
      label: 'gpu0',
      parts: new Map<string, Uint8Array>([
        ['report', vec('nvidia/go-nvattest-tools/ppcie_h100/gpu0_report.hex')],
        ['chain', vec('nvidia/go-nvattest-tools/ppcie_h100/gpu0_certchain.pem')],
        ['cc', cc2],
      ]),
    };
    const r = run(
      pp,
      {
        requirePpcieForMultiGpu: true,
        allowMissingRims: true,
        allowMissingDeviceOcsp: true,
      },
      '1234567890123456789012345678901234567890123456789012345678901234',
    );
    assert.equal(r.ok, true, failed(r).join());
    assert.equal(r.fields['ppcie'], true);
    const agg = checkMultiGpuPpcie([r, run(sampleItem())], {
      ...DEFAULT_NVIDIA_POLICY,
      requirePpcieForMultiGpu: true,
    });
    assert.equal(agg?.ok, false);
    assert.equal(
      checkMultiGpuPpcie([r, r], { ...DEFAULT_NVIDIA_POLICY, requirePpcieForMultiGpu: true })?.ok,
      true,
    );
    assert.equal(checkMultiGpuPpcie([r, r], DEFAULT_NVIDIA_POLICY), null);
  });

  test('compareVersions orders dotted numeric versions', () => {
    assert.equal(compareVersions('550.90.07', '570.124.06'), -1);
    assert.equal(compareVersions('570.124.06', '570.124.6'), 0);
    assert.equal(compareVersions('590.48.01', '590.48'), 1);
    // not a driver version: not comparable (the checks refuse), never read as 0
    for (const bad of ['', '999rc.1', '550', '550..90', ' 550.90.07', 'v550.90.07'])
      assert.equal(compareVersions(bad, '550.90.07'), null, JSON.stringify(bad));
  });
});

describe('NVIDIA OCSP (cached go-nvattest-tools responses for the sample chain)', { skip }, () => {
  const ocsp = (n: string): Uint8Array =>
    Buffer.from(vec(`nvidia/go-nvattest-tools/ocsp/${n}`).toString('latin1').trim(), 'base64');
  const OCSP_AT = new Date('2025-08-21T12:00:00Z');
  const parts = (): Map<string, Uint8Array> =>
    new Map([
      ['ocsp.1', ocsp('test_gpu_certificate_l4_base64encoded_ocsp_response.dat')],
      ['ocsp.2', ocsp('test_gpu_certificate_l3_base64encoded_ocsp_response.dat')],
      ['ocsp.3', ocsp('test_gpu_certificate_l2_base64encoded_ocsp_response.dat')],
    ]);
  const chain = (): ReturnType<typeof parsePemOrDer> => parsePemOrDer(vec(SAMPLE_CHAIN));

  test('BROM, Provisioner ICA and Identity are good at capture time (delegated responders)', () => {
    const cs = checkOcspForChain(nodeProvider, parts(), chain(), OCSP_AT, false);
    assert.deepEqual(
      cs.map((c) => [c.id, c.ok]),
      [
        ['ocsp.1', true],
        ['ocsp.2', true],
        ['ocsp.3', true],
      ],
      cs.map((c) => c.message).join('\n'),
    );
  });

  test('stale (after nextUpdate), wrong certificate, missing-when-required, tampered', () => {
    const late = checkOcspForChain(
      nodeProvider,
      parts(),
      chain(),
      new Date('2025-08-23T00:00:00Z'),
      false,
    );
    assert.ok(late.every((c) => !c.ok && /stale|responder certificate/.test(c.message)));
    const swapped = new Map([['ocsp.1', parts().get('ocsp.2')!]]);
    assert.match(
      checkOcspForChain(nodeProvider, swapped, chain(), OCSP_AT, false)[0]!.message,
      /expected a response for serial/,
    );
    const req = checkOcspForChain(nodeProvider, new Map(), chain(), OCSP_AT, true);
    assert.deepEqual(
      req.map((c) => [c.id, c.ok]),
      [
        ['ocsp.0', false],
        ['ocsp.1', false],
        ['ocsp.2', false],
        ['ocsp.3', false],
      ],
    );
    const t = parts().get('ocsp.1')!.slice();
    t[t.length - 700] = t[t.length - 700]! ^ 0x01; // inside the signed tbsResponseData
    const r = checkOcspForChain(
      nodeProvider,
      new Map([['ocsp.1', t]]),
      chain(),
      OCSP_AT,
      false,
    )[0]!;
    assert.equal(r.ok, false);
  });

  test('RIM chain responses parse and name the RIM signer serials', () => {
    const r = parseOcspResponse(ocsp('test_gpu_driver_rim_l4_base64encoded_ocsp_response.dat'));
    assert.equal(r.responses[0]!.status, 'good');
    assert.equal(
      Buffer.from(r.responses[0]!.serialNumber).toString('hex').replace(/^00/, ''),
      'd69f10b46c05d201',
    );
  });

  test('the OCSP parser throws only ProtocolError on random and mutated input', () => {
    const base = parts().get('ocsp.1')!;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat(), fc.nat(255), (rand, pos, val) => {
        for (const input of [
          rand,
          Uint8Array.from(base).map((b, i) => (i === pos % base.length ? val : b)),
        ]) {
          try {
            parseOcspResponse(input);
          } catch (e) {
            assert.ok(e instanceof ProtocolError, String(e));
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('SPDM / opaque / CC status parsers: properties', { skip }, () => {
  const base = (): Uint8Array => reportBytesFromInput(vec(SAMPLE));

  test('random bytes and single-byte mutations throw only ProtocolError', () => {
    const b = base();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(), fc.nat(255), (rand, pos, val) => {
        const m = b.slice();
        m[pos % m.length] = val;
        for (const input of [rand, m, Uint8Array.from([0x11, 0xe0, ...rand])]) {
          try {
            parseNvidiaReport(input);
          } catch (e) {
            assert.ok(e instanceof ProtocolError, String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  test('every truncation of a real report throws ProtocolError (truncated / bad_length)', () => {
    const b = base();
    for (let n = 0; n < b.length; n += 7) {
      assert.throws(
        () => parseNvidiaReport(b.subarray(0, n)),
        (e: unknown) => e instanceof ProtocolError,
      );
    }
  });

  test('opaque TLV decoding of random data throws only ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (rand) => {
        try {
          decodeOpaque(rand);
        } catch (e) {
          assert.ok(e instanceof ProtocolError, String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('verification of mutated evidence never throws', () => {
    const b = base();
    fc.assert(
      fc.property(fc.nat(), fc.nat(255), (pos, val) => {
        const m = b.slice();
        m[pos % m.length] = val;
        const r = run(sampleItem({ report: m, 'rim.driver': undefined, 'rim.vbios': undefined }), {
          allowMissingRims: true,
        });
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 40 },
    );
  });

  test('cc status parser: valid round trip; invalid JSON and values are ProtocolError', () => {
    const s = {
      ccFeature: 'on',
      devToolsMode: 'off',
      environment: 'production',
      multiGpuMode: 'none',
      gpuCount: 2,
    } as const;
    assert.deepEqual(parseCcStatus(encodeCcStatus(s)), s);
    for (const bad of ['', '[]', '{"ccFeature":"on"}', '{', '\xff']) {
      assert.throws(
        () => parseCcStatus(Buffer.from(bad, 'latin1')),
        (e: unknown) => e instanceof ProtocolError,
      );
    }
  });

  test('VBIOS formatting follows nvtrust', () => {
    assert.equal(
      formatVbiosVersion(Uint8Array.from([0x00, 0x9f, 0x00, 0x96, 0x01, 0x00, 0x00, 0x00])),
      '96.00.9F.00.01',
    );
  });
});

describe('warm-path caches', { skip }, () => {
  test('a cached OK chain is reused only inside the validity window; failures are recomputed', async () => {
    const { verifyChainCached, clearNvidiaCaches } =
      await import('../../protocol/attestation/nvidia/cache');
    const { nvidiaRimRoots } = await import('../../protocol/attestation/nvidia/verify');
    const { parseEnvelopedSignature } = await import('../../protocol/xml/dsig');
    const { parseXmlBytes } = await import('../../protocol/xml/parser');
    const { parseCertificate } = await import('../../protocol/x509/index');
    clearNvidiaCaches();
    const chain = parseEnvelopedSignature(parseXmlBytes(vec(DRIVER_RIM))).certificates.map((d) =>
      parseCertificate(d),
    );
    const t1 = new Date('2025-06-01T00:00:00Z');
    const t2 = new Date('2025-07-01T00:00:00Z');
    const a = verifyChainCached(nodeProvider, chain, nvidiaRimRoots(), t1);
    const b = verifyChainCached(nodeProvider, chain, nvidiaRimRoots(), t2);
    assert.deepEqual(a.problems, []);
    assert.equal(b, a, 'inside the validity window the cached result is reused');
    const late = verifyChainCached(
      nodeProvider,
      chain,
      nvidiaRimRoots(),
      new Date('2026-06-02T00:00:00Z'),
    );
    assert.notEqual(late.problems.length, 0);
    const early = verifyChainCached(
      nodeProvider,
      chain,
      nvidiaRimRoots(),
      new Date('2024-05-01T00:00:00Z'),
    );
    assert.notEqual(early.problems.length, 0);
    assert.notEqual(verifyChainCached(nodeProvider, chain, [], t1).problems.length, 0);
  });
});

describe('NVIDIA OCSP for the RIM signing chains', { skip }, () => {
  const ocsp = (n: string): Uint8Array =>
    Buffer.from(vec(`nvidia/go-nvattest-tools/ocsp/${n}`).toString('latin1').trim(), 'base64');
  test('driver RIM chain: signer, L3 and GH100 CA good at capture time; required-but-missing fails', () => {
    const at = new Date('2025-10-24T12:00:00Z');
    const item = sampleItem({
      'ocsp.rim.driver.0': ocsp('test_gpu_driver_rim_l4_base64encoded_ocsp_response.dat'),
      'ocsp.rim.driver.1': ocsp('test_gpu_driver_rim_l3_base64encoded_ocsp_response.dat'),
      'ocsp.rim.driver.2': ocsp('test_gpu_rim_l2_base64encoded_ocsp_response.dat'),
    });
    const r = run(item, {}, SAMPLE_NONCE, at);
    const ids = r.checks.filter((c) => c.id.startsWith('ocsp.rim.driver')).map((c) => [c.id, c.ok]);
    assert.deepEqual(
      ids,
      [
        ['ocsp.rim.driver.0', true],
        ['ocsp.rim.driver.1', true],
        ['ocsp.rim.driver.2', true],
      ],
      r.checks
        .filter((c) => c.id.startsWith('ocsp'))
        .map((c) => c.message)
        .join('\n'),
    );
    const req = run(item, { allowMissingRimOcsp: false }, SAMPLE_NONCE, at);
    const missing = failed(req);
    assert.ok(missing.includes('ocsp.rim.vbios.0'));
    assert.ok(!missing.includes('ocsp.rim.driver.0'));
    // At 2025-10-24 the device-chain responses (captured 2025-08-21, valid one day) are stale.
    assert.ok(['ocsp.1', 'ocsp.2', 'ocsp.3'].every((id) => missing.includes(id)));
    assert.ok(
      req.checks
        .filter((c) => c.id === 'ocsp.1')
        .every((c) => /nextUpdate/.test(c.message) && /stale/.test(c.message)),
    );
  });
});

describe('SPDM / opaque parser: each structural rule', { skip }, () => {
  const BLOCK0 = REQ_LEN + 8; // first measurement block
  const cases: [string, (b: Uint8Array) => void, RegExp][] = [
    ['request version', (b) => (b[0] = 0x10), /request\.SPDMVersion/],
    ['request code', (b) => (b[1] = 0xe1), /request\.RequestResponseCode/],
    ['signature not requested', (b) => (b[2] = 0x00), /request\.Param1/],
    ['not all blocks', (b) => (b[3] = 0x01), /request\.Param2/],
    ['slot id', (b) => (b[36] = 9), /SlotIDParam/],
    ['response code', (b) => (b[REQ_LEN + 1] = 0x61), /response\.RequestResponseCode/],
    ['block count', (b) => (b[REQ_LEN + 4] = 63), /NumberOfBlocks/],
    ['block index 0', (b) => (b[BLOCK0] = 0), /Index/],
    ['duplicate block index', (b) => (b[BLOCK0 + 55] = 1), /unique index/],
    ['measurement spec', (b) => (b[BLOCK0 + 1] = 2), /MeasurementSpecification/],
    ['value size vs measurement size', (b) => (b[BLOCK0 + 5] = 47), /DMTFSpecMeasurementValueSize/],
    [
      'record length overrun',
      (b) => (b[REQ_LEN + 7] = 0xff),
      /MeasurementRecord|truncated|bad_length|expected/,
    ],
  ];
  for (const [name, mutate, re] of cases) {
    test(`rejects: ${name}`, () => {
      const b = reportBytesFromInput(vec(SAMPLE)).slice();
      mutate(b);
      assert.throws(
        () => parseNvidiaReport(b),
        (e: unknown) => e instanceof ProtocolError && re.test(e.message),
      );
    });
  }
  test('opaque: duplicate type, bad status byte, wrong FWID length, overrun', () => {
    const tlv = (t: number, v: number[]): number[] => [
      t & 255,
      t >> 8,
      v.length & 255,
      v.length >> 8,
      ...v,
    ];
    assert.throws(
      () => decodeOpaque(Uint8Array.from([...tlv(3, [0x31, 0]), ...tlv(3, [0x32, 0])])),
      /at most once/,
    );
    assert.throws(() => decodeOpaque(Uint8Array.from(tlv(11, [0x12]))), /0xaa or 0x55/);
    assert.throws(() => decodeOpaque(Uint8Array.from(tlv(20, new Array(47).fill(1)))), /FWID/);
    assert.throws(() => decodeOpaque(Uint8Array.from([20, 0, 48, 0, 1, 2])), /Size/);
    const ok = decodeOpaque(
      Uint8Array.from([
        ...tlv(35, [0x47, 0x42, 0x31, 0x30, 0x30, 0]),
        ...tlv(36, [2, 0]),
        ...tlv(99, [1]),
      ]),
    );
    assert.equal(ok.decoded.chipInfo, 'GB100');
    assert.equal(ok.decoded.featureFlag, 2);
    assert.equal(ok.decoded.display['99'], '01');
  });
});
