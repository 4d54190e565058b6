/**
 * Evidence provider selection (--attestation, --gpu-attestation). `auto` probes the hardware:
 * configfs-tsm (/sys/kernel/config/tsm/report) for SEV-SNP and TDX guests, the Azure vTPM
 * (/dev/tpmrm0 with the HCL report NV index) for Azure CVMs; NVML for the GPU. The simulated
 * providers are used only when asked for by name. Any failure here stops the server (fail
 * closed): it never serves without the evidence it was configured to give.
 */
import { existsSync } from 'node:fs';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceProvider,
} from '../protocol/attestation/types';
import { ProtocolError } from '../protocol/errors';
import type { AttestationChoice, GpuAttestationChoice } from './config';
import { SimulatedNvidiaProvider } from './evidence/simulated-nvidia';
import { SimulatedSnpProvider } from './evidence/simulated-snp';
import type { Logger } from './log';

export const CONFIGFS_TSM = '/sys/kernel/config/tsm/report';
export const TPM_DEVICE = '/dev/tpmrm0';

export interface ProviderProbe {
  readonly exists: (path: string) => boolean;
}

const defaultProbe: ProviderProbe = { exists: existsSync };

/** What `auto` would pick on this machine, with the reason (for the start-up summary). */
export function probeCpu(probe: ProviderProbe = defaultProbe): {
  choice: AttestationChoice | null;
  reason: string;
} {
  if (probe.exists(CONFIGFS_TSM)) return { choice: 'sev-snp', reason: `${CONFIGFS_TSM} present` };
  if (probe.exists(TPM_DEVICE) && probe.exists('/sys/firmware/acpi/tables/OEM0'))
    return { choice: 'azure', reason: `${TPM_DEVICE} and an Azure HCL present` };
  return {
    choice: null,
    reason: `neither ${CONFIGFS_TSM} nor an Azure vTPM (${TPM_DEVICE}) found`,
  };
}

export async function selectCpuProvider(
  choice: AttestationChoice,
  log: Logger,
  probe: ProviderProbe = defaultProbe,
): Promise<EvidenceProvider> {
  let c = choice;
  if (c === 'auto') {
    const p = probeCpu(probe);
    if (p.choice === null)
      throw new ProtocolError(
        'evidence_missing',
        `attestation: expected CPU attestation hardware with --attestation auto, got none (${p.reason}); on a development machine use --attestation simulated`,
        'attestation',
      );
    log.info('attestation auto', { picked: p.choice, reason: p.reason });
    c = p.choice;
  }
  switch (c) {
    case 'simulated': {
      // Development only. The generated ARK/ASK are RSA-4096 like AMD's; tests and benchmarks set
      // TEECHAT_SIMULATED_RSA_BITS=2048 to start in 0.6 s instead of 3.4 s on a small machine.
      const bits = Number(process.env['TEECHAT_SIMULATED_RSA_BITS'] ?? 4096);
      if (bits !== 2048 && bits !== 3072 && bits !== 4096)
        throw new ProtocolError(
          'usage',
          `TEECHAT_SIMULATED_RSA_BITS: expected 2048, 3072 or 4096, got ${JSON.stringify(process.env['TEECHAT_SIMULATED_RSA_BITS'])}`,
          'attestation',
        );
      return SimulatedSnpProvider.create({ rsaBits: bits });
    }
    case 'sev-snp':
    case 'tdx':
    case 'azure':
      throw new ProtocolError(
        'evidence_missing',
        `attestation: the ${c} provider is not part of this build yet; use --attestation simulated for development`,
        'attestation',
      );
    default:
      throw new ProtocolError(
        'usage',
        `attestation: expected auto|sev-snp|tdx|azure|simulated, got ${JSON.stringify(c)}`,
        'attestation',
      );
  }
}

export async function selectGpuProvider(
  choice: GpuAttestationChoice,
  log: Logger,
  probe: ProviderProbe = defaultProbe,
): Promise<EvidenceProvider | null> {
  switch (choice) {
    case 'none':
      return null;
    case 'simulated':
      return new SimulatedNvidiaProvider();
    case 'auto':
      if (!probe.exists('/dev/nvidiactl')) {
        log.info('gpu attestation auto', { picked: 'none', reason: '/dev/nvidiactl absent' });
        return null;
      }
      throw new ProtocolError(
        'evidence_missing',
        'gpu-attestation: an NVIDIA GPU is present but the NVML provider is not part of this build yet; pass --gpu-attestation none to serve without GPU evidence',
        'gpu-attestation',
      );
    case 'nvidia':
      throw new ProtocolError(
        'evidence_missing',
        'gpu-attestation: the NVML provider is not part of this build yet',
        'gpu-attestation',
      );
  }
}

/**
 * Collects fresh evidence from every provider for one handshake, bound to its binding values.
 * A required kind none of them produces is reported as evidence_missing here (the client would
 * refuse anyway); any provider failure fails the handshake (fail closed).
 */
export function evidenceCollector(
  providers: readonly EvidenceProvider[],
  log: Logger,
): (binding: BindingValues, required: readonly EvidenceKind[]) => Promise<EvidenceItem[]> {
  return async (binding, required) => {
    const missing = required.filter((k) => !providers.some((p) => p.kind === k));
    if (missing.length > 0)
      throw new ProtocolError(
        'evidence_missing',
        `evidence: client requires [${missing.join(', ')}], this server provides [${providers.map((p) => p.kind).join(', ')}]`,
        'evidence',
      );
    try {
      const all = await Promise.all(providers.map((p) => p.collect(binding)));
      return all.flat();
    } catch (e) {
      log.error('evidence collection failed', {
        error: e instanceof Error ? e.message : String(e),
      });
      throw new ProtocolError(
        'server_error',
        'evidence: collection from the hardware failed (the server refuses to continue without it)',
        'evidence',
      );
    }
  };
}
