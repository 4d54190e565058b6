import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import type {
  BindingValues,
  EvidenceItem,
  VerificationReport,
} from '../../protocol/attestation/types';
import {
  createVerifier,
  DEFAULT_CLIENT_POLICY,
  DEFAULT_REQUIRE,
  verdictOf,
} from '../../client/verifier';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { SimulatedSnpProvider } from '../../enclave-server/evidence/simulated-snp';
import { SimulatedNvidiaProvider } from '../../enclave-server/evidence/simulated-nvidia';

const rep = (
  kind: VerificationReport['kind'],
  ok: boolean,
  extra: Partial<VerificationReport> = {},
): VerificationReport => ({
  ok,
  kind,
  checks: [
    { id: ok ? 'signature' : 'report_data', ok, message: ok ? 'fine' : 'REPORT_DATA differs' },
  ],
  fields: {},
  simulated: false,
  ...extra,
});

test('verdict: CPU + GPU verified → ok with a readable summary', () => {
  const v = verdictOf(
    [rep('sev-snp', true), rep('nvidia-gpu', true, { label: 'gpu0' })],
    DEFAULT_REQUIRE,
    false,
  );
  assert.equal(v.ok, true);
  assert.equal(v.summary, 'verified sev-snp, nvidia-gpu/gpu0');
});

test('verdict: GPU required but absent → evidence_missing', () => {
  const v = verdictOf([rep('sev-snp', true)], DEFAULT_REQUIRE, false);
  assert.equal(v.ok, false);
  assert.match(v.summary, /evidence_missing: expected verified NVIDIA GPU evidence/);
  assert.equal(
    verdictOf([rep('sev-snp', true)], { ...DEFAULT_REQUIRE, gpu: false }, false).ok,
    true,
  );
});

test('verdict: no CPU TEE evidence → evidence_missing even with a good GPU', () => {
  const v = verdictOf([rep('nvidia-gpu', true)], DEFAULT_REQUIRE, false);
  assert.equal(v.ok, false);
  assert.match(v.summary, /CPU TEE evidence/);
});

test('verdict: a CPU kind outside require.cpu does not count', () => {
  const v = verdictOf(
    [rep('tdx', true), rep('nvidia-gpu', true)],
    { cpu: ['sev-snp'], gpu: true },
    false,
  );
  assert.equal(v.ok, false);
});

test('verdict: any failing item rejects, a failed binding check is named binding_mismatch', () => {
  const v = verdictOf(
    [rep('sev-snp', true), rep('nvidia-gpu', true), rep('nvidia-gpu', false, { label: 'gpu1' })],
    DEFAULT_REQUIRE,
    false,
  );
  assert.equal(v.ok, false);
  assert.match(v.summary, /binding_mismatch in nvidia-gpu\/gpu1 rejected/);
});

test('verdict: simulated evidence needs allowSimulated', () => {
  const reports = [rep('sev-snp', true, { simulated: true }), rep('nvidia-gpu', true)];
  assert.equal(verdictOf(reports, DEFAULT_REQUIRE, false).ok, false);
  const v = verdictOf(reports, DEFAULT_REQUIRE, true);
  assert.equal(v.ok, true);
  assert.match(v.summary, /SIMULATED/);
});

let items: EvidenceItem[] = [];
const binding: BindingValues = {
  cpuReportData: new Uint8Array(64).fill(3),
  gpuNonce: new Uint8Array(32).fill(4),
};
before(async () => {
  const snp = await SimulatedSnpProvider.create({ rsaBits: 2048 });
  const gpu = new SimulatedNvidiaProvider();
  items = [...(await snp.collect(binding)), ...(await gpu.collect(binding))];
});

test('composition over real (simulated) evidence: accepted with allowSimulated and the right binding', async () => {
  const v = await createVerifier({
    policy: DEFAULT_CLIENT_POLICY,
    crypto: nodeProvider,
    allowSimulated: true,
  })(items, binding);
  assert.equal(v.ok, true, v.summary);
  assert.equal(v.reports.length, 2);
});

test('composition: refused without allowSimulated (the simulated roots are not pinned)', async () => {
  const v = await createVerifier({
    policy: DEFAULT_CLIENT_POLICY,
    crypto: nodeProvider,
    allowSimulated: false,
  })(items, binding);
  assert.equal(v.ok, false);
});

test('composition: evidence bound to another transcript → binding_mismatch for both CPU and GPU', async () => {
  const other: BindingValues = {
    cpuReportData: new Uint8Array(64).fill(9),
    gpuNonce: new Uint8Array(32).fill(9),
  };
  const v = await createVerifier({
    policy: DEFAULT_CLIENT_POLICY,
    crypto: nodeProvider,
    allowSimulated: true,
  })(items, other);
  assert.equal(v.ok, false);
  assert.match(v.summary, /binding_mismatch in sev-snp/);
  assert.match(v.summary, /binding_mismatch in nvidia-gpu/);
});

test('composition: an unknown or broken item is a failed report, never an exception', async () => {
  const bad: EvidenceItem = {
    kind: 'nvidia-switch',
    label: 'x',
    parts: new Map([['report', new Uint8Array(3)]]),
  };
  const v = await createVerifier({
    policy: DEFAULT_CLIENT_POLICY,
    crypto: nodeProvider,
    allowSimulated: true,
  })([...items, bad], binding);
  assert.equal(v.ok, false);
  assert.equal(v.reports.at(-1)?.ok, false);
});

test('one verifier per evidence kind; a kind this client does not know is refused', async () => {
  const { VERIFIERS } = await import('../../client/verifier');
  assert.deepEqual(Object.keys(VERIFIERS).sort(), [
    'azure-hcl',
    'nvidia-gpu',
    'nvidia-switch',
    'sev-snp',
    'tdx',
  ]);
  const verify = createVerifier({
    policy: { ...DEFAULT_CLIENT_POLICY, require: { cpu: ['sev-snp'], gpu: false } },
    crypto: nodeProvider,
    allowSimulated: false,
  });
  const unknown = { kind: 'future-tee', label: '', parts: new Map() } as unknown as EvidenceItem;
  const v = await verify([unknown], {
    cpuReportData: new Uint8Array(64),
    gpuNonce: new Uint8Array(32),
  });
  assert.equal(v.ok, false);
  assert.equal(v.reports[0]!.checks[0]!.id, 'verifier');
  assert.match(
    v.reports[0]!.checks[0]!.message,
    /^future-tee: expected a verifier for this evidence kind, got none in this client$/,
  );
  // A name inherited from Object.prototype is not a verifier either.
  const proto = { kind: 'toString', label: '', parts: new Map() } as unknown as EvidenceItem;
  const w = await verify([proto], {
    cpuReportData: new Uint8Array(64),
    gpuNonce: new Uint8Array(32),
  });
  assert.equal(w.reports[0]!.checks[0]!.id, 'verifier');
});
