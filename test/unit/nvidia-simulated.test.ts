/**
 * The simulated NVIDIA provider: its evidence verifies end to end (chain, signature, FWID, nonce,
 * RIM signatures + chains, measurements) only under policy.allowSimulated, and is bound to the nonce.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  SimulatedNvidiaProvider,
  encodeVbiosVersion,
} from '../../enclave-server/evidence/simulated-nvidia';
import { verifyNvidiaEvidence, checkMultiGpuPpcie } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY, type NvidiaPolicy } from '../../protocol/attestation/nvidia/policy';
import { formatVbiosVersion } from '../../protocol/attestation/nvidia/opaque';
import { parseNvidiaReport } from '../../protocol/attestation/nvidia/spdm';
import type { EvidenceItem, VerificationReport } from '../../protocol/attestation/types';
import { checkOcspForChain } from '../../protocol/attestation/nvidia/ocsp';
import { relaxationChecks } from '../../protocol/attestation/relax';
import { parseCertificate } from '../../protocol/x509/index';
import {
  buildCertificate,
  buildOcspResponse,
  ext,
} from '../../enclave-server/evidence/x509-writer';
import { failedIds as failed, assertAccepted } from '../helpers/reports';

const sim = new SimulatedNvidiaProvider();
const devPolicy: NvidiaPolicy = { ...DEFAULT_NVIDIA_POLICY, allowSimulated: true };
const binding = (): { cpuReportData: Uint8Array; gpuNonce: Uint8Array } => ({
  cpuReportData: new Uint8Array(64),
  gpuNonce: new Uint8Array(randomBytes(32)),
});
const verify = (item: EvidenceItem, policy: NvidiaPolicy, nonce: Uint8Array): VerificationReport =>
  verifyNvidiaEvidence(item, { crypto: nodeProvider, now: () => new Date() }, policy, {
    gpuNonce: nonce,
  });

describe('SimulatedNvidiaProvider', () => {
  test('round trip verifies under allowSimulated and says simulated', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const r = verify(item!, devPolicy, b.gpuNonce);
    assertAccepted(r);
    assert.equal(r.simulated, true);
    for (const id of [
      'signature',
      'cert_chain',
      'cert_chain.length',
      'fwid',
      'nonce',
      'rim.driver',
      'rim.driver.digest',
      'rim.driver.signature',
      'rim.driver.cert_chain',
      'rim.vbios',
      'measurements',
      'policy.cc_mode',
      'policy.devtools',
    ]) {
      assert.ok(
        r.checks.some((c) => c.id === id && c.ok),
        id,
      );
    }
    assert.equal(r.fields['driver_version'], sim.driverVersion);
    assert.equal(r.fields['vbios_version'], sim.vbiosVersion);
  });

  test('the same evidence fails without allowSimulated (device chain and both RIM chains)', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const r = verify(item!, DEFAULT_NVIDIA_POLICY, b.gpuNonce);
    assert.equal(r.ok, false);
    assert.equal(r.simulated, false);
    assert.deepEqual(failed(r), [
      'cert_chain',
      'policy.cc_environment',
      'rim.driver.cert_chain',
      'rim.vbios.cert_chain',
      'simulated',
    ]);
  });

  test('evidence is bound to the nonce it was collected for', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    assert.deepEqual(failed(verify(item!, devPolicy, binding().gpuNonce)), ['nonce']);
  });

  test('report layout is byte-exact SPDM (64 blocks, opaque fields) and re-parses', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const rep = parseNvidiaReport(item!.parts.get('report')!);
    assert.equal(rep.numberOfBlocks, 64);
    assert.equal(rep.recordLength, 64 * 55);
    assert.equal(rep.trailingBytes, 0);
    assert.deepEqual(rep.request.nonce, b.gpuNonce);
    assert.equal(rep.opaque.vbiosVersion, sim.vbiosVersion);
    assert.equal(formatVbiosVersion(encodeVbiosVersion('97.00.D9.00.35')), '97.00.D9.00.35');
  });

  test('multi-GPU PPCIe: a PPCIe simulation passes the multi-GPU policy, a non-PPCIe one fails', async () => {
    const pol: NvidiaPolicy = { ...devPolicy, requirePpcieForMultiGpu: true };
    const pp = new SimulatedNvidiaProvider({ gpuCount: 2, ppcie: true });
    const b = binding();
    const reps = (await pp.collect(b)).map((i) => verify(i, pol, b.gpuNonce));
    assert.equal(reps.length, 2);
    assert.ok(reps.every((r) => r.ok));
    assert.equal(checkMultiGpuPpcie(reps, pol)?.ok, true);
    const np = new SimulatedNvidiaProvider({ gpuCount: 2 });
    const r2 = (await np.collect(b)).map((i) => verify(i, pol, b.gpuNonce));
    assert.ok(r2.every((r) => failed(r).includes('policy.ppcie')));
  });

  test('NVDEC0 enabled: index 35 is compared, and still matches', async () => {
    const p = new SimulatedNvidiaProvider({ nvdec0Enabled: true });
    const b = binding();
    const r = verify((await p.collect(b))[0]!, devPolicy, b.gpuNonce);
    assert.equal(r.ok, true);
    assert.deepEqual((r.fields['measurements'] as { skipped: number[] }).skipped, []);
  });

  test('Blackwell (GB100): FWID found by the structured 2.23.133.5.4.1.1 parse; CHIP_INFO reported', async () => {
    const bw = new SimulatedNvidiaProvider({ chip: 'GB100' });
    const b = binding();
    const r = verify((await bw.collect(b))[0]!, devPolicy, b.gpuNonce);
    assertAccepted(r);
    assert.match(r.checks.find((c) => c.id === 'fwid')!.message, /2\.23\.133\.5\.4\.1\.1/);
    assert.equal(r.fields['chip'], 'GB100');
  });

  test('a report FWID that differs from the leaf certificate fails only the fwid check (Hopper and Blackwell)', async () => {
    for (const chip of ['GH100', 'GB100'] as const) {
      const p = new SimulatedNvidiaProvider({
        chip,
        reportFwidOverride: new Uint8Array(48).fill(0xab),
      });
      const b = binding();
      const r = verify((await p.collect(b))[0]!, devPolicy, b.gpuNonce);
      assert.deepEqual(failed(r), ['fwid'], chip);
      assert.match(r.checks.find((c) => c.id === 'fwid')!.message, /abababab/);
    }
  });
});

describe('stapled OCSP (simulated provider and the response writer)', () => {
  test('the provider staples device-chain and RIM-chain OCSP; each missing one is refused', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const ids = [...item!.parts.keys()].filter((k) => k.startsWith('ocsp.')).sort();
    assert.deepEqual(ids, [
      'ocsp.1',
      'ocsp.2',
      'ocsp.3',
      'ocsp.rim.driver.0',
      'ocsp.rim.driver.1',
      'ocsp.rim.vbios.0',
      'ocsp.rim.vbios.1',
    ]);
    const r = verify(item!, devPolicy, b.gpuNonce);
    for (const id of ids)
      assert.ok(
        r.checks.some((c) => c.id === id && c.ok),
        id,
      );
    for (const id of ['ocsp.2', 'ocsp.rim.vbios.1']) {
      const parts = new Map(item!.parts);
      parts.delete(id);
      const m = verify({ ...item!, parts }, devPolicy, b.gpuNonce);
      assert.deepEqual(failed(m), [id]);
      assert.match(m.checks.find((c) => !c.ok)!.message, /refused because it is missing/);
    }
    // Swapped responses (right signer, wrong certificate) are refused too.
    const parts = new Map(item!.parts);
    parts.set('ocsp.1', item!.parts.get('ocsp.2')!);
    assert.deepEqual(failed(verify({ ...item!, parts }, devPolicy, b.gpuNonce)), ['ocsp.1']);
  });

  test('a response without nextUpdate is refused unless allowOcspWithoutNextUpdate (RELAXED)', () => {
    const key = () => generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ca = key();
    const sub = key();
    const spki = (k: ReturnType<typeof key>): Uint8Array =>
      new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
    const nb = new Date('2025-01-01T00:00:00Z');
    const na = new Date('2035-01-01T00:00:00Z');
    const sw = { keyObject: ca.privateKey, alg: 'ecdsa-sha384' as const };
    const caDer = buildCertificate({
      subject: [['CN', 'OCSP test CA']],
      issuer: [['CN', 'OCSP test CA']],
      serial: 1,
      notBefore: nb,
      notAfter: na,
      publicKeyDer: spki(ca),
      extensions: [ext.basicConstraints(true), ext.keyUsage([5, 6])],
      signWith: sw,
    });
    const subDer = buildCertificate({
      subject: [['CN', 'OCSP test leaf']],
      issuer: [['CN', 'OCSP test CA']],
      serial: 77,
      notBefore: nb,
      notAfter: na,
      publicKeyDer: spki(sub),
      extensions: [ext.basicConstraints(false), ext.keyUsage([0])],
      signWith: sw,
    });
    const chain = [parseCertificate(subDer), parseCertificate(caDer)];
    const at = new Date('2026-06-01T00:00:00Z');
    const resp = (o: { nextUpdate?: Date; status?: 'good' | 'revoked' }): Map<string, Uint8Array> =>
      new Map([
        [
          'ocsp.0',
          buildOcspResponse({
            cert: subDer,
            issuer: caDer,
            status: o.status ?? 'good',
            thisUpdate: new Date(at.getTime() - 3_600_000),
            ...(o.nextUpdate !== undefined ? { nextUpdate: o.nextUpdate } : {}),
            signWith: sw,
          }),
        ],
      ]);
    const day = new Date(at.getTime() + 86_400_000);
    const good = checkOcspForChain(nodeProvider, resp({ nextUpdate: day }), chain, at, true);
    assert.deepEqual(
      good.map((c) => c.ok),
      [true],
    );
    const forever = checkOcspForChain(nodeProvider, resp({}), chain, at, true);
    assert.equal(forever[0]!.ok, false);
    assert.match(forever[0]!.message, /nextUpdate: expected a date, got none/);
    const allowed = checkOcspForChain(nodeProvider, resp({}), chain, at, true, {
      allowNoNextUpdate: true,
    });
    assert.equal(allowed[0]!.ok, true);
    const stale = checkOcspForChain(
      nodeProvider,
      resp({ nextUpdate: day }),
      chain,
      new Date(day.getTime() + 1000),
      true,
    );
    assert.match(stale[0]!.message, /stale/);
    const revoked = checkOcspForChain(
      nodeProvider,
      resp({ nextUpdate: day, status: 'revoked' }),
      chain,
      at,
      true,
    );
    assert.match(revoked[0]!.message, /certStatus: expected good, got revoked/);
    // In a report, the relaxation is named.
    const rc = relaxationChecks('nvidia', {
      ...DEFAULT_NVIDIA_POLICY,
      allowOcspWithoutNextUpdate: true,
    });
    assert.deepEqual(
      rc.map((c) => [c.id, c.ok]),
      [['relaxed.allowOcspWithoutNextUpdate', true]],
    );
    assert.match(rc[0]!.message, /^RELAXED nvidia\.allowOcspWithoutNextUpdate/);
  });
});
