/**
 * The verified summary names the launched TEE's identity for every CPU kind: for Azure it comes
 * from the SNP report (or TD quote) nested in the HCL report's fields, never an empty string.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarize } from '../../client/index';
import type { VerificationReport } from '../../protocol/attestation/types';

const info = { type: 'server_info', modelId: 'm', modelSha256: '' } as unknown as Parameters<
  typeof summarize
>[2];
const binding = { cpuReportData: new Uint8Array(64), gpuNonce: new Uint8Array(32) };
const sum = (r: VerificationReport) =>
  summarize([r], [], info, 'ok', new Uint8Array(32), new Date(0), binding);

test('Azure (SNP inside the HCL report): measurement, product and TCB from the nested SNP report', () => {
  const m = 'ab'.repeat(48);
  const s = sum({
    ok: true,
    kind: 'azure-hcl',
    checks: [{ id: 'signature', ok: true, message: 'ok' }],
    simulated: false,
    fields: {
      hcl: { version: 1 },
      pcrs: { '11': '00'.repeat(32) },
      snp: { measurement: m, product: 'genoa', reported_tcb: { bl: 3, snp: 8 } },
    },
  });
  assert.equal(s.cpu?.kind, 'azure-hcl');
  assert.equal(s.cpu?.measurement, m);
  assert.equal(s.cpu?.product, 'genoa');
  assert.match(s.cpu?.tcb ?? '', /"snp":8/);
  // The identity is the guest's vTPM PCRs, not the paravisor measurement.
  assert.equal(s.cpu?.identity, '00'.repeat(32));
  assert.deepEqual(s.cpu?.identityNames, ['PCR11']);
});

test('Azure (TDX inside the HCL report): the MRTD', () => {
  const s = sum({
    ok: true,
    kind: 'azure-hcl',
    checks: [{ id: 'signature', ok: true, message: 'ok' }],
    simulated: false,
    fields: { hcl: {}, tdx: { mrtd: 'cd'.repeat(48) } },
  });
  assert.equal(s.cpu?.measurement, 'cd'.repeat(48));
});

test('SEV-SNP: the top-level fields as before', () => {
  const s = sum({
    ok: true,
    kind: 'sev-snp',
    checks: [{ id: 'signature', ok: true, message: 'ok' }],
    simulated: true,
    fields: { measurement: 'ef'.repeat(48), product: 'milan' },
  });
  assert.equal(s.cpu?.measurement, 'ef'.repeat(48));
  assert.equal(s.simulated, true);
});

test('the summary names the evidence relaxations in force (none without them)', () => {
  const base = { ok: true, kind: 'tdx' as const, simulated: false, fields: { mrtd: 'aa' } };
  assert.deepEqual(
    sum({ ...base, checks: [{ id: 'quote_signature', ok: true, message: 'ok' }] }).relaxed,
    [],
  );
  const s = sum({
    ...base,
    checks: [
      { id: 'relaxed.allowMissingPckCrl', ok: true, message: 'RELAXED tdx.allowMissingPckCrl' },
      {
        id: 'relaxed.allowMissingRootCaCrl',
        ok: true,
        message: 'RELAXED tdx.allowMissingRootCaCrl',
      },
    ],
  });
  assert.deepEqual(s.relaxed, ['allowMissingPckCrl', 'allowMissingRootCaCrl']);
});
