import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  SimulatedSnpProvider,
  generateSimulatedSnpChain,
  simulatedArkCrl,
} from '../../enclave-server/evidence/simulated-snp';
import { buildCertificate, der, ext, toPem } from '../../enclave-server/evidence/x509-writer';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import { parseSnpReport } from '../../protocol/attestation/snp/report';
import { DEFAULT_POLICY, mergePolicy } from '../../protocol/attestation/policy';
import type { AttestationPolicy } from '../../protocol/attestation/policy';
import type {
  BindingValues,
  EvidenceItem,
  VerificationReport,
} from '../../protocol/attestation/types';
import {
  basicConstraints,
  keyUsage,
  parseCertificate,
  parsePemOrDer,
  verifySignedBy,
} from '../../protocol/x509/index';
import { parseCrl } from '../../protocol/x509/crl';

const DEV: AttestationPolicy = mergePolicy(DEFAULT_POLICY, { allowSimulated: true });
const binding = (fill: number): BindingValues => ({
  cpuReportData: new Uint8Array(64).fill(fill),
  gpuNonce: new Uint8Array(32),
});
const now = new Date();
const verify = (
  item: EvidenceItem,
  policy: AttestationPolicy,
  b?: BindingValues,
  at = now,
): VerificationReport =>
  verifySnpEvidence(item, { crypto: nodeProvider, now: () => at }, policy, b);
const failed = (r: VerificationReport): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

describe('x509-writer', () => {
  test('certificates it writes parse here and in OpenSSL, with serial 0 and vendor extensions', () => {
    const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const leaf = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const spki = (k: typeof ca.publicKey): Uint8Array =>
      new Uint8Array(k.export({ type: 'spki', format: 'der' }));
    const caDer = buildCertificate({
      subject: [
        ['CN', 'Test CA'],
        ['C', 'US'],
      ],
      issuer: [
        ['CN', 'Test CA'],
        ['C', 'US'],
      ],
      serial: 1n,
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2060-01-01T00:00:00Z'), // GeneralizedTime
      publicKeyDer: spki(ca.publicKey),
      extensions: [ext.basicConstraints(true, 1), ext.keyUsage([5, 6])],
      signWith: { keyObject: ca.privateKey, alg: 'ecdsa-sha256' },
    });
    const leafDer = buildCertificate({
      subject: [['CN', 'Leaf ü']],
      issuer: [
        ['CN', 'Test CA'],
        ['C', 'US'],
      ],
      serial: 0,
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2030-01-01T00:00:00Z'),
      publicKeyDer: spki(leaf.publicKey),
      extensions: [
        ext.integer('1.3.6.1.4.1.3704.1.3.1', 200),
        ext.raw('1.2.3.4', Uint8Array.of(1, 2, 3)),
      ],
      signWith: { keyObject: ca.privateKey, alg: 'ecdsa-sha256' },
    });
    const c = parseCertificate(caDer);
    const l = parseCertificate(leafDer);
    assert.equal(c.notAfter.toISOString(), '2060-01-01T00:00:00.000Z');
    assert.deepEqual(basicConstraints(c), { ca: true, pathLen: 1 });
    assert.equal(keyUsage(c), (1 << 5) | (1 << 6));
    assert.deepEqual([...l.serialNumber], [0]);
    assert.equal(l.subject.toString(), 'CN=Leaf ü');
    assert.deepEqual([...l.extensions.get('1.2.3.4')!.value], [1, 2, 3]);
    assert.equal(verifySignedBy(nodeProvider, l, c), true);
    assert.equal(verifySignedBy(nodeProvider, c, c), true);
    const x = new X509Certificate(toPem(leafDer));
    assert.equal(x.verify(new X509Certificate(Buffer.from(caDer)).publicKey), true);
    assert.deepEqual(parsePemOrDer(toPem(caDer) + toPem(leafDer)).length, 2);
    assert.deepEqual([...der.int(0x80)], [0x02, 0x02, 0x00, 0x80]);
    assert.deepEqual(
      [...der.oid('1.2.840.113549')],
      [0x06, 0x06, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d],
    );
  });
});

describe('simulated SEV-SNP provider', () => {
  let sim: SimulatedSnpProvider;
  before(async () => {
    sim = await SimulatedSnpProvider.create({ product: 'genoa' }); // RSA-4096 ARK/ASK, as AMD
  });

  test('AMD algorithms: RSA-4096 PSS SHA-384 ARK/ASK, P-384 VCEK with serial 0', () => {
    const [ark, ask, vcek] = [sim.chain.ark, sim.chain.ask, sim.chain.vcek].map(parseCertificate);
    assert.equal(ark!.publicKey.kind === 'rsa' && ark!.publicKey.n.length, 512);
    assert.deepEqual(
      [ark!.sigAlg.scheme, ark!.sigAlg.hash, ark!.sigAlg.saltLength],
      ['rsa-pss', 'SHA-384', 48],
    );
    assert.deepEqual([ask!.sigAlg.scheme, vcek!.sigAlg.scheme], ['rsa-pss', 'rsa-pss']);
    assert.equal(vcek!.publicKey.kind === 'ec' && vcek!.publicKey.curve, 'P-384');
    assert.deepEqual([...vcek!.serialNumber], [0]);
    assert.match(ark!.subject.toString(), /SIMULATED/);
  });

  test('accepted only with allowSimulated, then marked simulated', async () => {
    const [item] = await sim.collect(binding(7));
    const dev = verify(item!, DEV, binding(7));
    assert.deepEqual(failed(dev), [], JSON.stringify(dev.checks.filter((c) => !c.ok)));
    assert.equal(dev.ok, true);
    assert.equal(dev.simulated, true);
    assert.equal(dev.fields['simulated'], true);
    const prod = verify(item!, DEFAULT_POLICY, binding(7));
    assert.equal(prod.ok, false);
    assert.equal(prod.simulated, false);
    // The stapled CRL is signed by the simulated ARK, so under the pinned ARK it fails too.
    assert.deepEqual([...new Set(failed(prod))], ['cert_chain', 'crl']);
    assert.ok(
      dev.checks.some((c) => c.id === 'crl' && c.ok),
      'the stapled CRL passes in dev',
    );
    // Without the stapled CRL the report is refused for that reason alone (fail closed).
    const parts = new Map(item!.parts);
    parts.delete('crl');
    const noCrl = verify({ ...item!, parts }, DEV, binding(7));
    assert.deepEqual(failed(noCrl), ['crl']);
    assert.match(noCrl.checks.find((c) => !c.ok)!.message, /snp\.allowMissingCrl/);
    assert.ok(prod.checks.some((c) => /simulated roots need allowSimulated/.test(c.message)));
  });

  test('guest policy reserved bits 63:26 must be zero; firmware must meet the policy ABI', async () => {
    const reserved = new SimulatedSnpProvider(sim.chain, { policy: 0x30000n | (1n << 30n) });
    const [a] = await reserved.collect(binding(1));
    const r = verify(a!, DEV, binding(1));
    assert.deepEqual(failed(r), ['policy.reserved']);
    assert.match(r.checks.find((c) => !c.ok)!.message, /policy\[63:26\]: expected 0, got 0x10/);
    // ABI 2.0 in the guest policy, firmware 1.55 (the simulated firmware): refused.
    const abi = new SimulatedSnpProvider(sim.chain, { policy: 0x30000n | 0x0200n });
    const [b] = await abi.collect(binding(2));
    const r2 = verify(b!, DEV, binding(2));
    assert.deepEqual(failed(r2), ['policy.abi']);
    assert.match(
      r2.checks.find((c) => !c.ok)!.message,
      /expected >= 2\.0 \(guest policy ABI\), got 1\.55/,
    );
    const fine = new SimulatedSnpProvider(sim.chain, { policy: 0x30000n | 0x0137n });
    const [c] = await fine.collect(binding(3));
    assert.deepEqual(failed(verify(c!, DEV, binding(3))), []);
  });

  test('REPORT_DATA is the binding value; byte-exact v5 layout', async () => {
    const [item] = await sim.collect(binding(9));
    const rep = parseSnpReport(item!.parts.get('report')!);
    assert.equal(rep.version, 5);
    assert.deepEqual(rep.reportData, new Uint8Array(64).fill(9));
    assert.deepEqual(rep.cpuid, { family: 0x19, model: 0x11, stepping: 1 });
    assert.equal(rep.signingKey, 'VCEK');
    assert.equal(rep.launchMitVector, 0n);
    assert.deepEqual(failed(verify(item!, DEV, binding(8))), ['report_data']);
  });

  test('tampering with the report is detected', async () => {
    const [item] = await sim.collect(binding(1));
    const b = Uint8Array.from(item!.parts.get('report')!);
    b[0x90]! ^= 1;
    const parts = new Map(item!.parts);
    parts.set('report', b);
    assert.deepEqual(failed(verify({ ...item!, parts }, DEV, binding(1))), ['signature']);
  });

  test('CRL signed by the (simulated) ARK: revoked VCEK, stale CRL, wrong signer', async () => {
    const [item] = await sim.collect(binding(2));
    const withCrl = (crl: Uint8Array): EvidenceItem => ({
      ...item!,
      parts: new Map([...item!.parts, ['crl', crl]]),
    });
    const clean = simulatedArkCrl(sim.chain, [5], now);
    assert.equal(parseCrl(clean).revoked.length, 1);
    assert.deepEqual(failed(verify(withCrl(clean), DEV, binding(2))), []);
    const revoked = verify(withCrl(simulatedArkCrl(sim.chain, [0], now)), DEV, binding(2));
    assert.deepEqual(failed(revoked), ['crl']);
    assert.match(
      revoked.checks.find((c) => c.id === 'crl')!.message,
      /SEV-VCEK serial 00: expected not revoked/,
    );
    const stale = verify(
      withCrl(clean),
      DEV,
      binding(2),
      new Date(now.getTime() + 30 * 86_400_000),
    );
    assert.deepEqual(failed(stale), ['crl']);
    const other = await generateSimulatedSnpChain({ product: 'genoa', rsaBits: 2048 });
    const forged = verify(
      withCrl(simulatedArkCrl({ ...other, arkName: sim.chain.arkName }, [], now)),
      DEV,
      binding(2),
    );
    assert.deepEqual(failed(forged), ['crl']);
  });

  test('Turin: 8-byte hwID and the Turin TCB layout', async () => {
    const t = await SimulatedSnpProvider.create({
      product: 'turin',
      rsaBits: 2048,
      tcb: { fmc: 3, bl: 4, tee: 5, snp: 6, microcode: 7 },
    });
    const [item] = await t.collect(binding(3));
    const r = verify(item!, DEV, binding(3));
    assert.deepEqual(failed(r), []);
    assert.deepEqual(r.fields['reported_tcb'], {
      raw: '0x0700000006050403',
      bl: 4,
      tee: 5,
      snp: 6,
      microcode: 7,
      fmc: 3,
    });
    assert.equal((r.fields['cert_hwid'] as string).length, 16);
  });
});
