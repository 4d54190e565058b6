/**
 * NVIDIA GPU attestation benchmark (warm, Node crypto provider), on the one real end-to-end pair
 * (nvtrust H100 sample report + go-nvattest-tools driver/VBIOS RIMs, pinned at 2025-06-01):
 *   verify_gpu_ms            full verification, warm: parse, report signature, 5-cert chain, FWID,
 *                            nonce, both RIMs (C14N 1.1 + digest + signature + 4-cert chain), 33
 *                            golden values; chain results and RIM parse/signature results come from
 *                            the content-keyed caches (cache.ts), the report signature is always checked
 *   verify_gpu_cold_ms       the same with the caches emptied before every run
 *   verify_gpu_no_rims_ms    the same without RIMs (report + chain + FWID + nonce)
 *   verify_rim_ms / _cold_ms one RIM: XML parse, C14N 1.1 of document and SignedInfo, digest, signature, chain
 *   parse_report_ms          SPDM parse alone
 *   verify_gpu_simulated_ms  full verification of simulated evidence (same work, generated keys)
 * Target (issue 4): verify_gpu_ms ≤ 20 ms. Vectors absent: only the simulated figure.
 */
import { randomBytes } from 'node:crypto';
import { nodeProvider } from '../../protocol-node/crypto-node';
import { verifyNvidiaEvidence, nvidiaRimRoots } from '../../protocol/attestation/nvidia/verify';
import { DEFAULT_NVIDIA_POLICY } from '../../protocol/attestation/nvidia/policy';
import { verifyRim } from '../../protocol/attestation/nvidia/rim';
import { parseNvidiaReport, reportBytesFromInput } from '../../protocol/attestation/nvidia/spdm';
import { fromHex } from '../../protocol/attestation/nvidia/bytes';
import { clearNvidiaCaches } from '../../protocol/attestation/nvidia/cache';
import { SimulatedNvidiaProvider } from '../../enclave-server/evidence/simulated-nvidia';
import type { EvidenceItem } from '../../protocol/attestation/types';
import { readShared, sharedPath } from '../../test/helpers/shared';
import { msPerOp } from '../lib';

export default {
  name: 'attestation-gpu',
  description:
    'NVIDIA GPU evidence verification (SPDM report, device chain, FWID, signed RIMs, golden measurements)',
  async run({ quick }: { quick: boolean }): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const sim = new SimulatedNvidiaProvider();
    const simNonce = new Uint8Array(randomBytes(32));
    const [simItem] = await sim.collect({ cpuReportData: new Uint8Array(64), gpuNonce: simNonce });
    const simPolicy = { ...DEFAULT_NVIDIA_POLICY, allowSimulated: true };
    const simCtx = { crypto: nodeProvider, now: () => new Date() };
    if (!verifyNvidiaEvidence(simItem!, simCtx, simPolicy, { gpuNonce: simNonce }).ok)
      throw new Error('attestation-gpu: simulated evidence did not verify');
    out['verify_gpu_simulated_ms'] = msPerOp(
      () => verifyNvidiaEvidence(simItem!, simCtx, simPolicy, { gpuNonce: simNonce }),
      { quick },
    );

    if (sharedPath('vectors', 'nvidia') === null) {
      console.error(
        'attestation-gpu: ../shared/vectors/nvidia is absent; real-vector figures skipped',
      );
      return out;
    }
    const v = (p: string): Uint8Array => new Uint8Array(readShared('vectors', p));
    const report = reportBytesFromInput(v('nvidia/nvtrust/hopperAttestationReport.txt'));
    const driver = v('nvidia/go-nvattest-tools/rim/NV_GPU_DRIVER_GH100_550.90.07.xml');
    const item: EvidenceItem = {
      kind: 'nvidia-gpu',
      label: 'gpu0',
      parts: new Map([
        ['report', report],
        ['chain', v('nvidia/nvtrust/hopperCertChain.txt')],
        ['rim.driver', driver],
        ['rim.vbios', v('nvidia/go-nvattest-tools/rim/NV_GPU_VBIOS_1010_0200_882_96009F0001.xml')],
      ]),
    };
    const noRims: EvidenceItem = {
      ...item,
      parts: new Map([...item.parts].filter(([k]) => !k.startsWith('rim.'))),
    };
    const at = new Date('2025-06-01T00:00:00Z');
    const ctx = { crypto: nodeProvider, now: () => at };
    const policy = { ...DEFAULT_NVIDIA_POLICY, requireCcMode: false };
    const binding = {
      gpuNonce: fromHex(
        '931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb',
        'nonce',
      ),
    };
    if (!verifyNvidiaEvidence(item, ctx, policy, binding).ok)
      throw new Error(
        'attestation-gpu: the vector pair did not verify; would measure a failure path',
      );
    out['verify_gpu_ms'] = msPerOp(() => verifyNvidiaEvidence(item, ctx, policy, binding), {
      quick,
    });
    out['verify_gpu_cold_ms'] = msPerOp(
      () => {
        clearNvidiaCaches();
        verifyNvidiaEvidence(item, ctx, policy, binding);
      },
      { quick },
    );
    out['verify_gpu_no_rims_ms'] = msPerOp(
      () => verifyNvidiaEvidence(noRims, ctx, { ...policy, allowMissingRims: true }, binding),
      { quick },
    );
    out['verify_rim_cold_ms'] = msPerOp(
      () => {
        clearNvidiaCaches();
        verifyRim(nodeProvider, driver, { roots: nvidiaRimRoots(), at }, 'rim.driver');
      },
      { quick },
    );
    out['verify_rim_ms'] = msPerOp(
      () => verifyRim(nodeProvider, driver, { roots: nvidiaRimRoots(), at }, 'rim.driver'),
      { quick },
    );
    out['parse_report_ms'] = msPerOp(() => parseNvidiaReport(report), { quick });
    return out;
  },
};
