/**
 * `teechat-server collateral fetch` and the stapling of its cache, with an injected fetcher (no
 * network) serving the real NVIDIA OCSP responses, Intel PCS collateral and CRLs in
 * ../shared/vectors, and a synthetic AMD CRL (the vector set has none from KDS).
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { generateKeyPairSync } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  collateralFetchCommand,
  ocspCacheFile,
  stapleOcsp,
  NVIDIA_OCSP_URL,
  type HttpFetcher,
  type HttpRequest,
} from '../../enclave-server/evidence/collateral';
import { NvmlEvidenceProvider, type NvmlApi } from '../../enclave-server/evidence/nvml';
import { storeRim, rimIdsFor } from '../../enclave-server/evidence/rims';
import { loadTdxCollateralParts } from '../../enclave-server/evidence/tdx';
import { buildCrl, der } from '../../enclave-server/evidence/x509-writer';
import { parseOcspResponse } from '../../protocol/attestation/nvidia/ocsp';
import { parseCertChain, verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY } from '../../protocol/attestation/nvidia/policy';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { verifyTdxEvidence } from '../../protocol/attestation/tdx/verify';
import { DEFAULT_POLICY } from '../../protocol/attestation/policy';
import { children, parseDer, readIntegerBytes } from '../../protocol/asn1/der';
import { sharedPath, skipUnlessShared } from '../helpers/shared';

const skip = skipUnlessShared();
const vec = (p: string): Uint8Array => new Uint8Array(readFileSync(sharedPath('vectors', p)!));
const O = 'nvidia/go-nvattest-tools/ocsp/';
const ocspVec = (n: string): Uint8Array =>
  new Uint8Array(
    Buffer.from(
      Buffer.from(vec(O + n))
        .toString('latin1')
        .trim(),
      'base64',
    ),
  );
const OCSP_FILES = [
  'test_gpu_certificate_l2_base64encoded_ocsp_response.dat',
  'test_gpu_certificate_l3_base64encoded_ocsp_response.dat',
  'test_gpu_certificate_l4_base64encoded_ocsp_response.dat',
  'test_gpu_driver_rim_l3_base64encoded_ocsp_response.dat',
  'test_gpu_driver_rim_l4_base64encoded_ocsp_response.dat',
  'test_gpu_rim_l2_base64encoded_ocsp_response.dat',
  'test_gpu_vbios_l4_base64encoded_ocsp_response.dat',
];
const REPORT = 'nvidia/go-nvattest-tools/test_raw_gpu_attestation_report.dat';
const CHAIN = 'nvidia/nvtrust/hopperCertChain.txt';
const DRIVER_RIM = 'nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml';
const VBIOS_RIM = 'nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml';
/** Inside the device-chain responses' window (2025-08-21T06:47 + 1 day). */
/** The VBIOS chain shares its upper certificates with the driver chain: asked for once. */
const EXPECT_RIM_OCSP: [string, string][] = [
  ['ocsp NV_GPU_DRIVER_GH100_550.90.07.xml[0]', 'stored'],
  ['ocsp NV_GPU_DRIVER_GH100_550.90.07.xml[1]', 'stored'],
  ['ocsp NV_GPU_DRIVER_GH100_550.90.07.xml[2]', 'stored'],
  ['ocsp NV_GPU_VBIOS_1010_0200_882_96009F0001.xml[0]', 'stored'],
];
const DEVICE_AT = new Date('2025-08-21T12:00:00Z');

/** The serial of the CertID in an OCSPRequest (as the NVIDIA responder reads it). */
function requestedSerial(body: Uint8Array): string {
  const tbs = children(parseDer(body, 'req'), 'req')[0]!;
  const list = children(tbs, 'tbs')[0]!;
  const req = children(list, 'list')[0]!;
  const certId = children(req, 'r')[0]!;
  const serial = children(certId, 'certId')[3]!;
  return Buffer.from(readIntegerBytes(serial, 'serial')).toString('hex');
}

/** An NVML double returning the real go-nvattest-tools GPU report and its nvtrust chain. */
function vectorNvml(): NvmlApi {
  const report = reportBytesFromInput(vec(REPORT));
  return {
    init: () => 0,
    shutdown: () => 0,
    errorString: (c) => `error ${c}`,
    ccState: () => ({ ret: 0, state: { environment: 2, ccFeature: 1, devToolsMode: 0 } }),
    deviceCount: () => ({ ret: 0, count: 1 }),
    deviceHandle: () => ({ ret: 0, handle: 0 }),
    attestationReport: () => ({ ret: 0, report }),
    attestationCertChain: () => ({ ret: 0, chain: vec(CHAIN) }),
  };
}

interface Fake {
  fetch: HttpFetcher;
  calls: HttpRequest[];
}

/** An OCSP responder + PCS + KDS double serving `by serial` / `by URL` answers. */
function fakeServices(
  urls: Record<string, { body: Uint8Array; headers?: Record<string, string> }> = {},
): Fake {
  const bySerial = new Map<string, Uint8Array>();
  for (const f of OCSP_FILES) {
    const b = ocspVec(f);
    for (const s of parseOcspResponse(b).responses)
      bySerial.set(
        Buffer.from(s.serialNumber)
          .toString('hex')
          .replace(/^(00)+/, ''),
        b,
      );
  }
  const calls: HttpRequest[] = [];
  return {
    calls,
    fetch: (req) => {
      calls.push(req);
      if (req.method === 'POST' && req.url === NVIDIA_OCSP_URL) {
        assert.equal(req.contentType, 'application/ocsp-request');
        const b = bySerial.get(requestedSerial(req.body!).replace(/^(00)+/, ''));
        return Promise.resolve(
          b
            ? { status: 200, body: b, headers: {} }
            : { status: 404, body: new Uint8Array(), headers: {} },
        );
      }
      const u = urls[req.url];
      return Promise.resolve(
        u
          ? { status: 200, body: u.body, headers: u.headers ?? {} }
          : { status: 404, body: new Uint8Array(), headers: {} },
      );
    },
  };
}

function runner(fake: Fake, now: Date) {
  let out = '';
  let err = '';
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    run: (argv: string[]) =>
      collateralFetchCommand(argv, {
        out: (s) => (out += s),
        err: (s) => (err += s),
        fetch: fake.fetch,
        now: () => now,
      }),
  };
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'teechat-collateral-'));
}

describe('teechat-server collateral fetch: NVIDIA OCSP', { skip }, () => {
  if (skip) return;
  const chainFile = sharedPath('vectors', CHAIN)!;

  test('fetches and stores the device chain responses (certificates 1..3); a second run uses the cache', async () => {
    const dir = tmp();
    try {
      const fake = fakeServices();
      const r = runner(fake, DEVICE_AT);
      assert.equal(await r.run(['--cache', dir, '--chain', chainFile, '--json']), 0, r.err);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { status: string; path: string });
      assert.equal(lines.length, 3);
      assert.ok(lines.every((l) => l.status === 'stored' && existsSync(l.path)));
      assert.equal(fake.calls.length, 3);
      const r2 = runner(fake, DEVICE_AT);
      assert.equal(await r2.run(['--cache', dir, '--chain', chainFile]), 0, r2.err);
      assert.equal(fake.calls.length, 3, 'fresh cached responses are not fetched again');
      assert.match(r2.out, /cached, fresh/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a stale answer is refused and not stored (exit 1, naming nextUpdate)', async () => {
    const dir = tmp();
    try {
      const r = runner(fakeServices(), new Date('2025-08-23T00:00:00Z'));
      assert.equal(await r.run(['--cache', dir, '--chain', chainFile]), 1);
      assert.match(
        r.err,
        /nextUpdate: expected >= 2025-08-23T00:00:00\.000Z, got 2025-08-22T06:47:0\dZ?.*stale/,
      );
      assert.ok(!existsSync(join(dir, 'ocsp')) || !r.out.includes('stored'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a responder answer for another certificate, an HTTP error or garbage is refused', async () => {
    const dir = tmp();
    try {
      const wrong: HttpFetcher = () =>
        Promise.resolve({ status: 200, body: ocspVec(OCSP_FILES[5]!), headers: {} });
      let err = '';
      const code = await collateralFetchCommand(['--cache', dir, '--chain', chainFile], {
        out: () => undefined,
        err: (s) => (err += s),
        fetch: wrong,
        now: () => DEVICE_AT,
      });
      assert.equal(code, 1);
      assert.match(err, /expected a response for serial/);
      for (const [status, body, re] of [
        [500, new Uint8Array(), /expected HTTP 200, got 500/],
        [200, new Uint8Array([1, 2, 3]), /ocsp|DER|expected/i],
      ] as const) {
        let e2 = '';
        assert.equal(
          await collateralFetchCommand(['--cache', dir, '--chain', chainFile], {
            out: () => undefined,
            err: (s) => (e2 += s),
            fetch: () => Promise.resolve({ status, body, headers: {} }),
            now: () => DEVICE_AT,
          }),
          1,
        );
        assert.match(e2, re);
      }
      assert.ok(!existsSync(join(dir, 'ocsp')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the NVML provider staples the fresh cached responses and the client accepts the device chain OCSP', async () => {
    const dir = tmp();
    try {
      assert.equal(
        await runner(fakeServices(), DEVICE_AT).run(['--cache', dir, '--chain', chainFile]),
        0,
      );
      const ids = rimIdsFor(parseNvidiaReport(reportBytesFromInput(vec(REPORT))).opaque);
      storeRim(join(dir, 'rims'), ids.driver, vec(DRIVER_RIM));
      storeRim(join(dir, 'rims'), ids.vbios, vec(VBIOS_RIM));
      const api = vectorNvml();
      const logs: string[] = [];
      const at = { t: DEVICE_AT };
      const p = NvmlEvidenceProvider.open({
        api,
        rimCacheDir: join(dir, 'rims'),
        ocspCacheDir: join(dir, 'ocsp'),
        now: () => at.t,
        log: (m) => logs.push(m),
      });
      const [item] = await p.collect({
        cpuReportData: new Uint8Array(64),
        gpuNonce: new Uint8Array(32),
      });
      for (const k of ['ocsp.1', 'ocsp.2', 'ocsp.3']) assert.ok(item!.parts.has(k), k);
      // The RIM chains' responses are not cached (the vector set's date from another day): named.
      assert.match(logs.join('\n'), /no fresh OCSP response for ocsp\.rim\.driver\.0/);
      const rep = verifyNvidiaEvidence(
        item!,
        { crypto: nodeProvider, now: () => DEVICE_AT },
        { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false, allowMissingRimOcsp: true },
      );
      for (const id of ['ocsp.1', 'ocsp.2', 'ocsp.3'])
        assert.ok(
          rep.checks.some((c) => c.id === id && c.ok),
          id,
        );
      assert.ok(!rep.checks.some((c) => c.id.startsWith('ocsp.') && !c.ok));
      // A day later the cached responses are stale: nothing is stapled, and the default client
      // refuses the evidence for the missing device-chain OCSP.
      at.t = new Date('2025-08-23T00:00:00Z');
      const [late] = await p.collect({
        cpuReportData: new Uint8Array(64),
        gpuNonce: new Uint8Array(32),
      });
      assert.ok(!late!.parts.has('ocsp.1'));
      assert.match(logs.at(-1)!, /ocsp\.1 \(nextUpdate: expected >= /);
      const rep2 = verifyNvidiaEvidence(
        late!,
        { crypto: nodeProvider, now: () => DEVICE_AT },
        { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false, allowMissingRimOcsp: true },
      );
      assert.equal(rep2.ok, false);
      assert.ok(rep2.checks.some((c) => c.id === 'ocsp.1' && !c.ok && /missing/.test(c.message)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stapleOcsp refuses a cached response that does not verify (tampered byte)', () => {
    const dir = tmp();
    try {
      const chain = parseCertChain(vec(CHAIN));
      const b = ocspVec(OCSP_FILES[2]!);
      b[b.length - 10]! ^= 1;
      mkdirSync(dir, { recursive: true });
      writeFileSync(ocspCacheFile(dir, chain[1]!), b);
      const s = stapleOcsp(dir, chain, 'ocsp', 1, DEVICE_AT);
      assert.equal(s.parts.size, 0);
      assert.equal(s.missing.length, 3);
      assert.doesNotMatch(s.missing[0]!, /not cached/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--nvidia fetches OCSP for both RIM signing chains in DIR/rims (real responses, 2025-10-24)', async () => {
    const dir = tmp();
    try {
      storeRim(join(dir, 'rims'), 'NV_GPU_DRIVER_GH100_550.90.07', vec(DRIVER_RIM));
      storeRim(join(dir, 'rims'), 'NV_GPU_VBIOS_1010_0200_882_96009F0001', vec(VBIOS_RIM));
      const fake = fakeServices();
      const r = runner(fake, new Date('2025-10-24T12:00:00Z'));
      const code = await r.run(['--cache', dir, '--nvidia', '--json']);
      const lines = r.out
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { item: string; status: string });
      assert.deepEqual(
        lines.map((l) => [l.item.replace(/ ".*/, ''), l.status]),
        EXPECT_RIM_OCSP,
        r.err,
      );
      assert.equal(code, 0, r.err);
      assert.ok(fake.calls.every((c) => c.method === 'POST'));
      // The provider staples them for both RIMs, and the client's RIM-chain OCSP checks pass.
      const at = new Date('2025-10-24T12:00:00Z');
      const p = NvmlEvidenceProvider.open({
        api: vectorNvml(),
        rimCacheDir: join(dir, 'rims'),
        ocspCacheDir: join(dir, 'ocsp'),
        now: () => at,
      });
      const [item] = await p.collect({
        cpuReportData: new Uint8Array(64),
        gpuNonce: new Uint8Array(32),
      });
      const rep = verifyNvidiaEvidence(
        item!,
        { crypto: nodeProvider, now: () => at },
        { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false, allowMissingDeviceOcsp: true },
      );
      const rimOcsp = rep.checks.filter((c) => c.id.startsWith('ocsp.rim.'));
      assert.deepEqual(
        rimOcsp.map((c) => [c.id, c.ok]),
        [0, 1, 2]
          .map((n) => [`ocsp.rim.driver.${n}`, true])
          .concat([0, 1, 2].map((n) => [`ocsp.rim.vbios.${n}`, true])),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('teechat-server collateral fetch: Intel TDX (PCS / PCCS)', { skip }, () => {
  if (skip) return;
  const L = 'tdx/lunal-attestation-rs/collateral/';
  const FMSPC = '90c06f000000';
  const AT = new Date('2026-03-20T00:00:00Z');
  const pcs = (base: string, rootUrl: string, rootBody: Uint8Array) => ({
    [`${base}/tdx/certification/v4/tcb?fmspc=${FMSPC}`]: {
      body: vec(`${L}tcb_info_${FMSPC}.json`),
      headers: {
        'tcb-info-issuer-chain': encodeURIComponent(
          '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n',
        ),
      },
    },
    [`${base}/tdx/certification/v4/qe/identity`]: { body: vec(`${L}td_qe_identity.json`) },
    [`${base}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`]: {
      body: vec(`${L}pck_crl_platform.der`),
    },
    [rootUrl]: { body: rootBody },
  });

  test('PCS: stores TCB info, QE identity and both CRLs; the stapled set verifies a genuine quote', async () => {
    const dir = tmp();
    try {
      const fake = fakeServices(
        pcs(
          'https://api.trustedservices.intel.com',
          'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der',
          vec(`${L}root_ca_crl.der`),
        ),
      );
      const quote = sharedPath('vectors', 'tdx/go-tdx-guest/quote_v5_sample.dat')!;
      const r = runner(fake, AT);
      assert.equal(await r.run(['--cache', dir, '--tdx-quote', quote]), 0, r.err);
      assert.equal(fake.calls.length, 4);
      const parts = await loadTdxCollateralParts(join(dir, 'tdx'));
      parts.delete('collateral.tcb_signing_chain'); // the header in this double is a placeholder
      parts.set('quote', vec('tdx/go-tdx-guest/quote_v5_sample.dat'));
      const rep = verifyTdxEvidence(
        { kind: 'tdx', label: '', parts },
        { crypto: nodeProvider, now: () => AT },
        DEFAULT_POLICY,
      );
      assert.deepEqual(
        rep.checks.filter((c) => !c.ok).map((c) => c.id),
        [],
      );
      // Second run: everything fresh in the cache, nothing fetched.
      assert.equal(await runner(fake, AT).run(['--cache', dir, '--tdx-fmspc', FMSPC]), 0);
      assert.equal(fake.calls.length, 4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('PCCS: same paths under its URL, root CA CRL as hex text', async () => {
    const dir = tmp();
    try {
      const base = 'https://pccs.local:8081';
      const fake = fakeServices(
        pcs(
          base,
          `${base}/sgx/certification/v4/rootcacrl`,
          new TextEncoder().encode(Buffer.from(vec(`${L}root_ca_crl.der`)).toString('hex')),
        ),
      );
      const r = runner(fake, AT);
      assert.equal(
        await r.run(['--cache', dir, '--tdx-fmspc', FMSPC, '--pccs-url', base]),
        0,
        r.err,
      );
      assert.deepEqual(
        readFileSync(join(dir, 'tdx', 'root_ca_crl.der')),
        Buffer.from(vec(`${L}root_ca_crl.der`)),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('stale collateral, another FMSPC or a missing item: exit 1 naming the item; the old copy is kept', async () => {
    const dir = tmp();
    try {
      const good = pcs(
        'https://api.trustedservices.intel.com',
        'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der',
        vec(`${L}root_ca_crl.der`),
      );
      const late = runner(fakeServices(good), new Date('2027-01-01T00:00:00Z'));
      assert.equal(await late.run(['--cache', dir, '--tdx-fmspc', FMSPC]), 1);
      assert.match(
        late.err,
        /tdx tcb_info 90c06f000000: tcbInfo\.nextUpdate: expected >= 2027-01-01.*stale/,
      );
      assert.match(late.err, /tdx qe_identity: enclaveIdentity\.nextUpdate/);
      assert.match(late.err, /pck_crl: nextUpdate: expected >= /);
      assert.ok(!existsSync(join(dir, 'tdx', 'tcb_info.json')));
      // Another platform's TCB info served for our FMSPC.
      const swapped = { ...good };
      swapped[`https://api.trustedservices.intel.com/tdx/certification/v4/tcb?fmspc=${FMSPC}`] = {
        body: vec(`${L}tcb_info_50806f000000.json`),
      };
      const w = runner(fakeServices(swapped), AT);
      assert.equal(await w.run(['--cache', dir, '--tdx-fmspc', FMSPC]), 1);
      assert.match(w.err, /tcbInfo\.fmspc: expected 90c06f000000, got 50806f000000/);
      const none = runner(fakeServices(), AT);
      assert.equal(await none.run(['--cache', dir, '--tdx-fmspc', FMSPC]), 1);
      assert.match(none.err, /expected HTTP 200, got 404/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('teechat-server collateral fetch: AMD SEV-SNP CRL', () => {
  // Synthetic: an ARK-like self-signed CA and its CRL (the vector set holds no KDS CRL).
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const crl = (thisUpdate: Date, nextUpdate: Date): Uint8Array =>
    buildCrl({
      issuer: [['CN', 'ARK-Milan']],
      thisUpdate,
      nextUpdate,
      signWith: { keyObject: privateKey, alg: 'ecdsa-sha384' },
    });
  const URL = 'https://kdsintf.amd.com/vcek/v1/Milan/crl';
  const NOW = new Date('2026-06-01T00:00:00Z');

  test('stores a fresh CRL as snp/crl.der; refuses a stale one and garbage', async () => {
    const dir = tmp();
    try {
      const fresh = crl(new Date('2026-05-31T00:00:00Z'), new Date('2026-06-07T00:00:00Z'));
      const r = runner(fakeServices({ [URL]: { body: fresh } }), NOW);
      assert.equal(await r.run(['--cache', dir, '--snp-product', 'milan']), 0, r.err);
      assert.deepEqual(new Uint8Array(readFileSync(join(dir, 'snp', 'crl.der'))), fresh);
      const stale = crl(new Date('2026-04-01T00:00:00Z'), new Date('2026-04-07T00:00:00Z'));
      const s = runner(fakeServices({ [URL]: { body: stale } }), NOW);
      assert.equal(await s.run(['--cache', dir, '--snp-product', 'milan', '--force']), 1);
      assert.match(
        s.err,
        /snp crl milan\/vcek: nextUpdate: expected >= 2026-06-01T00:00:00\.000Z, got 2026-04-07T00:00:00\.000Z \(stale\)/,
      );
      assert.deepEqual(
        new Uint8Array(readFileSync(join(dir, 'snp', 'crl.der'))),
        fresh,
        'old copy kept',
      );
      const g = runner(fakeServices({ [URL]: { body: der.seq(der.int(1)) } }), NOW);
      assert.equal(await g.run(['--cache', dir, '--snp-product', 'milan', '--force']), 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('teechat-server collateral fetch: usage', () => {
  test('--help, missing --cache, nothing to fetch, bad values, unknown flags: exit 0 / 2', async () => {
    const r = runner(fakeServices(), new Date());
    assert.equal(await r.run(['--help']), 0);
    assert.match(r.out, /^Usage: teechat-server collateral fetch/);
    for (const argv of [
      [],
      ['--cache', '/tmp/x'],
      ['--cache', '/tmp/x', '--snp-product', 'naples'],
      ['--cache', '/tmp/x', '--snp-product', 'milan', '--snp-key', 'ask'],
      ['--cache', '/tmp/x', '--tdx-fmspc', '90c06f'],
      ['--cache', '/tmp/x', '--tdx-fmspc', '90c06f000000', '--tdx-quote', 'q'],
      ['--cache', '/tmp/x', '--tdx-fmspc', '90c06f000000', '--pcs-url', 'ftp://x'],
      ['--cache', '/tmp/x', '--nvidia', '--bogus'],
    ]) {
      const u = runner(fakeServices(), new Date());
      assert.equal(await u.run(argv), 2, argv.join(' '));
      // one line naming the command and the problem, pointing at --help (not the whole help)
      assert.match(u.err, /^teechat-server collateral fetch: .*--help.*\n$/);
    }
    const n = runner(fakeServices(), new Date());
    assert.equal(await n.run(['--cache', '/tmp/x', '--from-nvml']), 1);
    assert.match(n.err, /NVML is not available/);
  });
});
