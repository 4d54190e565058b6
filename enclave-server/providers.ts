/**
 * Evidence provider selection (--attestation, --gpu-attestation). `auto` probes the hardware:
 * configfs-tsm (/sys/kernel/config/tsm/report) for SEV-SNP and TDX guests, the Azure vTPM
 * (/dev/tpmrm0 with the HCL report NV index) for Azure CVMs; NVML for the GPU. The simulated
 * providers are used only when asked for by name. Any failure here stops the server (fail
 * closed): it never serves without the evidence it was configured to give.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceKind,
  EvidenceProvider,
} from '../protocol/attestation/types';
import { ProtocolError } from '../protocol/errors';
import { ATTESTATION_CHOICES, type AttestationChoice, type GpuAttestationChoice } from './config';
import { UsageError } from '../protocol-node/args';
import { AzureVtpmProvider, THIM_URL } from './evidence/azure-vtpm';
import { CONFIGFS_TSM_ROOT } from './evidence/configfs-tsm';
import { WorkerEvidenceProvider } from './evidence/worker-provider';
import { SimulatedNvidiaProvider } from './evidence/simulated-nvidia';
import { SimulatedSnpProvider } from './evidence/simulated-snp';
import { SnpConfigfsProvider } from './evidence/snp-configfs';
import { TDX_GUEST_DEVICE, TdxEvidenceProvider } from './evidence/tdx';
import { tdxCollateralRefetcher } from './evidence/collateral';
import type { Logger } from './log';

export const CONFIGFS_TSM = CONFIGFS_TSM_ROOT;
export const TPM_DEVICE = '/dev/tpmrm0';
export const SEV_GUEST_DEVICE = '/dev/sev-guest';
/** Azure CVMs expose the paravisor's HCL report in the vTPM; the OEM0 ACPI table marks Hyper-V. */
export const AZURE_MARKER = '/sys/firmware/acpi/tables/OEM0';
export const NVIDIA_DEVICE = '/dev/nvidiactl';

export interface ProviderProbe {
  readonly exists: (path: string) => boolean;
}

const defaultProbe: ProviderProbe = { exists: existsSync };

/** What `auto` would pick on this machine, with the reason (for the start-up summary). */
export function probeCpu(probe: ProviderProbe = defaultProbe): {
  choice: AttestationChoice | null;
  reason: string;
} {
  if (probe.exists(CONFIGFS_TSM)) {
    if (probe.exists(TDX_GUEST_DEVICE))
      return { choice: 'tdx', reason: `${CONFIGFS_TSM} and ${TDX_GUEST_DEVICE} present` };
    if (probe.exists(SEV_GUEST_DEVICE))
      return { choice: 'sev-snp', reason: `${CONFIGFS_TSM} and ${SEV_GUEST_DEVICE} present` };
  }
  if (probe.exists(TPM_DEVICE) && probe.exists(AZURE_MARKER))
    return {
      choice: 'azure',
      reason: `${TPM_DEVICE} on Hyper-V (${AZURE_MARKER}): Azure CVM vTPM`,
    };
  return {
    choice: null,
    reason: `found neither configfs-tsm (${CONFIGFS_TSM}) with ${SEV_GUEST_DEVICE} or ${TDX_GUEST_DEVICE}, nor an Azure vTPM (${TPM_DEVICE})`,
  };
}

export async function selectCpuProvider(
  choice: AttestationChoice,
  log: Logger,
  probe: ProviderProbe = defaultProbe,
  cacheDir = '',
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
        throw new UsageError(
          `TEECHAT_SIMULATED_RSA_BITS: expected 2048, 3072 or 4096, got ${JSON.stringify(process.env['TEECHAT_SIMULATED_RSA_BITS'])}`,
          'attestation',
        );
      return SimulatedSnpProvider.create({ rsaBits: bits });
    }
    case 'sev-snp':
      return new SnpConfigfsProvider(cacheDir ? { certDir: join(cacheDir, 'snp') } : {});
    case 'tdx':
      // Stale cached collateral is refetched from Intel PCS (at most every 10 minutes) and never
      // stapled stale (evidence/tdx.ts freshCollateral).
      return new TdxEvidenceProvider(
        cacheDir
          ? { collateralDir: join(cacheDir, 'tdx'), refetch: tdxCollateralRefetcher(cacheDir) }
          : {},
      );
    case 'azure':
      return new AzureVtpmProvider({
        ...(cacheDir ? { certDir: join(cacheDir, 'azure') } : {}),
        // Azure's instance metadata service (link-local, inside the VM) serves the VCEK chain once.
        fetchThim: async () => {
          const r = await fetch(THIM_URL, {
            headers: { Metadata: 'true' },
            signal: AbortSignal.timeout(10_000),
          });
          if (!r.ok) throw new Error(`THIM: HTTP ${r.status}`);
          return new Uint8Array(await r.arrayBuffer());
        },
      });
    default:
      throw new UsageError(
        `attestation: expected ${ATTESTATION_CHOICES.join('|')}, got ${JSON.stringify(c)}`,
        'attestation',
      );
  }
}

export async function selectGpuProvider(
  choice: GpuAttestationChoice,
  log: Logger,
  probe: ProviderProbe = defaultProbe,
  cacheDir = '',
  /** --simulated-roots-out is set: a test pins the generated roots (simulated GPU claims production CC). */
  simulatedRootsPinned = false,
): Promise<EvidenceProvider | null> {
  const nvml = async (): Promise<EvidenceProvider> => {
    try {
      // NVML's calls are synchronous FFI: they run in a worker thread, off the event loop.
      return await WorkerEvidenceProvider.start({
        type: 'nvml',
        ...(cacheDir
          ? { rimCacheDir: join(cacheDir, 'rims'), ocspCacheDir: join(cacheDir, 'ocsp') }
          : {}),
      });
    } catch (e) {
      throw new ProtocolError(
        'evidence_missing',
        `gpu-attestation: expected an NVIDIA GPU in confidential-computing mode through NVML, got ${e instanceof Error ? e.message : String(e)}`,
        'gpu-attestation',
      );
    }
  };
  switch (choice) {
    case 'none':
      return null;
    case 'simulated':
      return new SimulatedNvidiaProvider(
        simulatedRootsPinned ? { ccEnvironment: 'production' } : {},
      );
    case 'nvidia':
      return nvml();
    case 'auto':
      if (!probe.exists(NVIDIA_DEVICE)) {
        log.info('gpu attestation auto', { picked: 'none', reason: `${NVIDIA_DEVICE} absent` });
        return null;
      }
      // A GPU is present: it must attest (CC on), or the server refuses to start. Serving from a
      // GPU outside CC would put activations in unprotected memory; --gpu-attestation none is the
      // explicit way to serve with CPU evidence only.
      return nvml();
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
  release?: ReleaseParts,
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
      const all = (await Promise.all(providers.map((p) => p.collect(binding)))).flat();
      return release === undefined ? all : all.map((item) => withRelease(item, release));
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

/** The release manifest and its Sigstore bundle, as sent with the evidence (docs/PROTOCOL.md §5). */
export interface ReleaseParts {
  readonly manifest: Uint8Array;
  readonly bundle: Uint8Array;
}

export const RELEASE_MANIFEST_PART = 'release.manifest';
export const RELEASE_BUNDLE_PART = 'release.sigstore';

/**
 * Adds the release parts to each CPU TEE item. Parts are inside the evidence bundle, so the
 * transcript hash covers them; clients that predate them ignore parts they do not know.
 */
function withRelease(item: EvidenceItem, r: ReleaseParts): EvidenceItem {
  if (item.kind !== 'sev-snp' && item.kind !== 'tdx' && item.kind !== 'azure-hcl') return item;
  const parts = new Map(item.parts);
  parts.set(RELEASE_MANIFEST_PART, r.manifest);
  parts.set(RELEASE_BUNDLE_PART, r.bundle);
  return { ...item, parts };
}

/**
 * Bounds hardware evidence collection: at most `concurrency` collections run at once and at most
 * `queue` wait; one more is refused at once with `busy` (the connection gets a 4400 close), so a
 * flood of anonymous handshakes costs a bounded amount of hardware time and memory.
 */
export function limitConcurrency<A extends unknown[], R>(
  fn: (...a: A) => Promise<R>,
  o: { readonly concurrency: number; readonly queue: number },
): ((...a: A) => Promise<R>) & { readonly stats: () => { running: number; queued: number } } {
  let running = 0;
  const waiting: (() => void)[] = [];
  const next = (): void => {
    running--;
    waiting.shift()?.();
  };
  const run = async (...a: A): Promise<R> => {
    if (running >= o.concurrency) {
      if (waiting.length >= o.queue)
        throw new ProtocolError(
          'busy',
          `evidence: expected at most ${o.queue} collections waiting, got ${waiting.length + 1}; try again`,
          'evidence',
        );
      await new Promise<void>((r) => waiting.push(r));
    }
    running++;
    try {
      return await fn(...a);
    } finally {
      next();
    }
  };
  return Object.assign(run, { stats: () => ({ running, queued: waiting.length }) });
}
