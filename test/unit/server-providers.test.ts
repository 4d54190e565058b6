import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BindingValues, EvidenceProvider } from '../../protocol/attestation/types';
import {
  AZURE_MARKER,
  CONFIGFS_TSM,
  NVIDIA_DEVICE,
  SEV_GUEST_DEVICE,
  TPM_DEVICE,
  evidenceCollector,
  probeCpu,
  selectCpuProvider,
  selectGpuProvider,
} from '../../enclave-server/providers';
import { createLogger } from '../../enclave-server/log';
import { isCode } from '../helpers/errors';

const lines: string[] = [];
const log = createLogger('debug', (l) => lines.push(l));
const binding: BindingValues = {
  cpuReportData: new Uint8Array(64).fill(1),
  gpuNonce: new Uint8Array(32).fill(2),
};
const none = { exists: () => false };

test('auto with no attestation hardware fails closed with evidence_missing and says what was probed', async () => {
  assert.equal(probeCpu(none).choice, null);
  await assert.rejects(
    selectCpuProvider('auto', log, none),
    (e: unknown) => isCode('evidence_missing')(e) && (e as Error).message.includes(CONFIGFS_TSM),
  );
});

test('auto: configfs-tsm with /dev/sev-guest → sev-snp, with /dev/tdx_guest → tdx; Azure vTPM → azure', () => {
  const has = (...paths: string[]) => ({ exists: (p: string) => paths.includes(p) });
  assert.equal(probeCpu(has(CONFIGFS_TSM, SEV_GUEST_DEVICE)).choice, 'sev-snp');
  assert.equal(probeCpu(has(CONFIGFS_TSM, '/dev/tdx_guest')).choice, 'tdx');
  assert.equal(probeCpu(has(TPM_DEVICE, AZURE_MARKER)).choice, 'azure');
  assert.equal(probeCpu(has(TPM_DEVICE)).choice, null, 'a TPM alone is not an Azure CVM');
  assert.equal(probeCpu(has(CONFIGFS_TSM)).choice, null, 'configfs-tsm without a guest device');
});

test('named providers are the hardware ones (no silent fallback to simulated)', async () => {
  for (const [choice, kind] of [
    ['sev-snp', 'sev-snp'],
    ['tdx', 'tdx'],
    ['azure', 'azure-hcl'],
  ] as const) {
    const p = await selectCpuProvider(choice, log, none, '/tmp/teechat-evidence-test');
    assert.equal(p.kind, kind);
    assert.equal(p.simulated, false);
  }
});

test('--gpu-attestation nvidia without NVML fails closed with evidence_missing', async () => {
  await assert.rejects(selectGpuProvider('nvidia', log, none), isCode('evidence_missing'));
  await assert.rejects(
    selectGpuProvider('auto', log, { exists: (p) => p === NVIDIA_DEVICE }),
    isCode('evidence_missing'),
  );
});

test('gpu auto without an NVIDIA device is none; none is none', async () => {
  assert.equal(await selectGpuProvider('auto', log, none), null);
  assert.equal(await selectGpuProvider('none', log, none), null);
  const sim = await selectGpuProvider('simulated', log, none);
  assert.equal(sim?.kind, 'nvidia-gpu');
  assert.equal(sim?.simulated, true);
});

const fake = (
  kind: EvidenceProvider['kind'],
  collect: EvidenceProvider['collect'],
): EvidenceProvider => ({ kind, description: kind, simulated: true, collect });

test('the collector binds every provider to the same binding values', async () => {
  const seen: BindingValues[] = [];
  const c = evidenceCollector(
    [
      fake(
        'sev-snp',
        async (b) => (
          seen.push(b),
          [{ kind: 'sev-snp', label: '', parts: new Map([['report', b.cpuReportData]]) }]
        ),
      ),
      fake(
        'nvidia-gpu',
        async (b) => (
          seen.push(b),
          [{ kind: 'nvidia-gpu', label: 'gpu0', parts: new Map([['report', b.gpuNonce]]) }]
        ),
      ),
    ],
    log,
  );
  const items = await c(binding, ['sev-snp']);
  assert.equal(items.length, 2);
  assert.ok(seen.every((b) => b === binding));
});

test('a provider failure fails the handshake (server_error), never serves without evidence', async () => {
  const c = evidenceCollector(
    [fake('sev-snp', async () => Promise.reject(new Error('firmware busy')))],
    log,
  );
  await assert.rejects(c(binding, []), isCode('server_error'));
  assert.ok(
    lines.some((l) => l.includes('evidence collection failed') && l.includes('firmware busy')),
  );
});

test('a required kind no provider produces is evidence_missing', async () => {
  const c = evidenceCollector([fake('sev-snp', async () => [])], log);
  await assert.rejects(c(binding, ['nvidia-gpu']), isCode('evidence_missing'));
});
