/**
 * Injected trust anchors (VerifyContext.trustAnchors, `connect({ trustAnchors })`): roots a test or
 * an embedder pins in code are treated exactly like the compiled-in vendor roots — same checks,
 * named as pinned test roots, NOT simulated — and the evidence's own copy of a root is never
 * trusted unless it equals a pinned one. Also `teechat-server --simulated-roots-out`.
 */
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeProvider } from '../../protocol-node/crypto-node';
import {
  SimulatedSnpProvider,
  generateSimulatedSnpChain,
} from '../../enclave-server/evidence/simulated-snp';
import { SimulatedNvidiaProvider } from '../../enclave-server/evidence/simulated-nvidia';
import { toPem } from '../../enclave-server/evidence/x509-writer';
import { writeSimulatedRoots } from '../../enclave-server/evidence/simulated-roots';
import { verifySnpEvidence } from '../../protocol/attestation/snp/verify';
import { verifyNvidiaEvidence } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_POLICY } from '../../protocol/attestation/policy';
import { DEFAULT_NVIDIA_POLICY } from '../../protocol/attestation/nvidia/policy';
import type {
  BindingValues,
  EvidenceItem,
  TrustAnchors,
  VerificationReport,
} from '../../protocol/attestation/types';
import { createVerifier, DEFAULT_CLIENT_POLICY } from '../../client/verifier';
import type { Logger } from '../../enclave-server/log';
import { failedIds as failed } from '../helpers/reports';
import { UsageError } from '../../protocol-node/args';

const binding = (): BindingValues => ({
  cpuReportData: new Uint8Array(randomBytes(64)),
  gpuNonce: new Uint8Array(randomBytes(32)),
});
const why = (r: VerificationReport): string =>
  r.checks
    .filter((c) => !c.ok)
    .map((c) => c.message)
    .join('\n');
const silent: Logger = {
  error: () => {},
  warn: () => {},
  info: () => {},
  debug: () => {},
} as unknown as Logger;

describe('injected trust anchors: SEV-SNP', () => {
  let sim: SimulatedSnpProvider;
  let other: SimulatedSnpProvider;
  before(async () => {
    sim = await SimulatedSnpProvider.create({ product: 'milan', rsaBits: 2048 });
    other = new SimulatedSnpProvider(
      await generateSimulatedSnpChain({ product: 'milan', rsaBits: 2048 }),
    );
  });
  const snp = (item: EvidenceItem, b: BindingValues, anchors?: TrustAnchors): VerificationReport =>
    verifySnpEvidence(
      item,
      {
        crypto: nodeProvider,
        now: () => new Date(),
        ...(anchors ? { trustAnchors: anchors } : {}),
      },
      DEFAULT_POLICY,
      b,
    );

  test('an injected ARK (PEM or DER) is a pinned root: accepted, named, not simulated', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    for (const ark of [toPem(sim.chain.ark), sim.chain.ark]) {
      const r = snp(item!, b, { amdArk: { milan: [ark] } });
      assert.deepEqual(failed(r), [], why(r));
      assert.equal(r.ok, true);
      assert.equal(r.simulated, false);
      const chain = r.checks.find((c) => c.id === 'cert_chain')!;
      assert.match(
        chain.message,
        /pinned test root "[^"]*SIMULATED ARK-Milan[^"]*" for ARK-milan, injected trust anchor/,
      );
      assert.doesNotMatch(
        r.checks.map((c) => c.message).join('\n'),
        /SIMULATED root|allowSimulated is set/,
      );
    }
  });

  test('without the anchor the same evidence is refused (cert_chain and the ARK-signed CRL)', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const r = snp(item!, b);
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['cert_chain', 'crl']);
    assert.ok(r.checks.some((c) => /test roots an injected trust anchor/.test(c.message)));
  });

  test("another server's injected root does not vouch for this evidence", async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const r = snp(item!, b, { amdArk: { milan: [other.chain.ark] } });
    assert.equal(r.ok, false);
    assert.deepEqual(failed(r), ['cert_chain', 'crl']);
    // An anchor for another product is not used either.
    const g = snp(item!, b, { amdArk: { genoa: [sim.chain.ark] } });
    assert.deepEqual(failed(g), ['cert_chain', 'crl']);
  });

  test('the evidence cannot swap in its own root next to an injected one', async () => {
    // Evidence from `other` (its own ARK stapled) with `sim`'s ARK injected: refused.
    const b = binding();
    const [item] = await other.collect(b);
    const r = snp(item!, b, { amdArk: { milan: [sim.chain.ark] } });
    assert.equal(r.ok, false);
    assert.ok(failed(r).includes('cert_chain'));
    assert.equal(r.simulated, false);
  });

  test('binding is still checked under an injected root', async () => {
    const b = binding();
    const [item] = await sim.collect(b);
    const r = snp(item!, binding(), { amdArk: { milan: [sim.chain.ark] } });
    assert.deepEqual(failed(r), ['report_data']);
  });
});

describe('injected trust anchors: NVIDIA', () => {
  const gpu = new SimulatedNvidiaProvider({ ccEnvironment: 'production' });
  const anchors: TrustAnchors = {
    nvidiaDevice: [toPem(gpu.deviceRootDer)],
    nvidiaRim: [gpu.rimRootDer],
  };
  const nv = (item: EvidenceItem, nonce: Uint8Array, a?: TrustAnchors): VerificationReport =>
    verifyNvidiaEvidence(
      item,
      { crypto: nodeProvider, now: () => new Date(), ...(a ? { trustAnchors: a } : {}) },
      DEFAULT_NVIDIA_POLICY,
      { gpuNonce: nonce },
    );

  test('injected device + RIM roots: accepted under the default policy, named, not simulated', async () => {
    const b = binding();
    const [item] = await gpu.collect(b);
    const r = nv(item!, b.gpuNonce, anchors);
    assert.deepEqual(failed(r), [], why(r));
    assert.equal(r.simulated, false);
    assert.equal(r.fields['simulated'], false);
    assert.match(
      r.checks.find((c) => c.id === 'cert_chain')!.message,
      /pinned test root .*injected trust anchor/,
    );
    for (const id of ['rim.driver.cert_chain', 'rim.vbios.cert_chain'])
      assert.match(
        r.checks.find((c) => c.id === id)!.message,
        /pinned test root .*injected trust anchor/,
      );
    // The production CC-environment check runs (it is skipped only for simulated roots).
    assert.ok(r.checks.some((c) => c.id === 'policy.cc_environment' && c.ok));
  });

  test('without anchors, or with only one of the two roots, refused', async () => {
    const b = binding();
    const [item] = await gpu.collect(b);
    assert.deepEqual(failed(nv(item!, b.gpuNonce)), [
      'cert_chain',
      'rim.driver.cert_chain',
      'rim.vbios.cert_chain',
      'simulated',
    ]);
    const onlyDevice = nv(item!, b.gpuNonce, { nvidiaDevice: anchors.nvidiaDevice! });
    assert.deepEqual(failed(onlyDevice), [
      'rim.driver.cert_chain',
      'rim.vbios.cert_chain',
      'simulated',
    ]);
    assert.match(
      onlyDevice.checks.find((c) => c.id === 'simulated')!.message,
      /no injected trust anchor equals it\), got a simulated root in part sim\.rim_root/,
    );
  });

  test("another GPU's roots do not vouch for this evidence", async () => {
    const b = binding();
    const [item] = await new SimulatedNvidiaProvider().collect(b);
    const r = nv(item!, b.gpuNonce, anchors);
    assert.equal(r.ok, false);
    assert.ok(failed(r).includes('cert_chain'));
    assert.ok(failed(r).includes('simulated'));
  });
});

describe('client verifier with trustAnchors', () => {
  test('a session verdict with injected roots is ok and not SIMULATED; without them refused', async () => {
    const snp = await SimulatedSnpProvider.create({ product: 'genoa', rsaBits: 2048 });
    const gpu = new SimulatedNvidiaProvider({ ccEnvironment: 'production' });
    const anchors = writeSimulatedRoots(
      join(mkdtempSync(join(tmpdir(), 'teechat-roots-')), 'roots.json'),
      [snp, gpu],
      silent,
    );
    const b = binding();
    const items = [...(await snp.collect(b)), ...(await gpu.collect(b))];
    const pinned = createVerifier({
      policy: DEFAULT_CLIENT_POLICY,
      crypto: nodeProvider,
      allowSimulated: false,
      trustAnchors: anchors,
    });
    const v = await pinned(items, b);
    assert.equal(v.ok, true, v.summary);
    assert.doesNotMatch(v.summary, /SIMULATED/);
    assert.ok(v.reports.every((r) => !r.simulated));
    const plain = createVerifier({
      policy: DEFAULT_CLIENT_POLICY,
      crypto: nodeProvider,
      allowSimulated: false,
    });
    const refused = await plain(items, b);
    assert.equal(refused.ok, false);
  });
});

describe('teechat-server --simulated-roots-out', () => {
  test('writes the generated roots as a JSON TrustAnchors of PEM certificates', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'teechat-roots-'));
    try {
      const snp = await SimulatedSnpProvider.create({ product: 'turin', rsaBits: 2048 });
      const gpu = new SimulatedNvidiaProvider();
      const file = join(dir, 'roots.json');
      writeSimulatedRoots(file, [snp, gpu], silent);
      const j = JSON.parse(readFileSync(file, 'utf8')) as TrustAnchors;
      assert.deepEqual(Object.keys(j.amdArk!), ['turin']);
      assert.equal(j.amdArk!.turin![0], toPem(snp.chain.ark));
      assert.deepEqual(j.nvidiaDevice, [toPem(gpu.deviceRootDer)]);
      assert.deepEqual(j.nvidiaRim, [toPem(gpu.rimRootDer)]);
      assert.doesNotMatch(readFileSync(file, 'utf8'), /PRIVATE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('refused (usage) without a simulated provider, or when the file cannot be written', async () => {
    assert.throws(
      () => writeSimulatedRoots('/nonexistent/x.json', [], silent),
      (e) => e instanceof UsageError && /expected a simulated evidence provider/.test(e.message),
    );
    const gpu = new SimulatedNvidiaProvider();
    assert.throws(
      () => writeSimulatedRoots('/nonexistent-dir-teechat/x.json', [gpu], silent),
      (e) => e instanceof UsageError && /expected a writable file/.test(e.message),
    );
  });
});
