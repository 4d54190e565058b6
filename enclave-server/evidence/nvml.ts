/**
 * NVIDIA GPU evidence from NVML (libnvidia-ml.so.1) through koffi (prebuilt FFI, no compiler).
 *
 * Calls (nvml.h, R535+):
 *   nvmlInit_v2, nvmlSystemGetConfComputeState (environment / ccFeature / devToolsMode),
 *   nvmlSystemGetConfComputeSettings (adds multiGpuMode; optional, newer drivers),
 *   nvmlDeviceGetCount_v2, nvmlDeviceGetHandleByIndex_v2,
 *   nvmlDeviceGetConfComputeGpuAttestationReport (SPDM report over our 32-byte nonce),
 *   nvmlDeviceGetConfComputeGpuCertificate (attestation certificate chain).
 *
 * Fails closed: `open()` throws NvmlError when NVML cannot be loaded, CC is off, or devtools
 * mode is on (unless explicitly allowed); `collect()` throws when any GPU's report or chain
 * cannot be obtained, so the server refuses sessions that require GPU evidence with that message.
 * RIMs come from the cache directory filled by `teechat-server rims fetch` (rims.ts).
 */
import { randomBytes } from 'node:crypto';
import type koffiModule from 'koffi';
import type {
  BindingValues,
  EvidenceItem,
  EvidenceProvider,
} from '../../protocol/attestation/types';
import {
  encodeCcStatus,
  type CcEnvironment,
  type CcStatus,
  type MultiGpuMode,
} from '../../protocol/attestation/nvidia/cc-status';
import { parseNvidiaReport } from '../../protocol/attestation/nvidia/spdm';
import { parseCertChain, type Certificate } from '../../protocol/x509/index';
import { concat } from '../../protocol/wire/bytes';
import { loadCachedRims, rimIdsFor, type RimIds } from './rims';
import { rimChainOf, stapleOcsp } from './collateral';
import { normalizeChain, trimChain } from './nvidia-chain';

export const NVML_SUCCESS = 0;
export const CC_NONCE_SIZE = 32;
export const ATTESTATION_REPORT_SIZE = 0x2000;
export const CEC_ATTESTATION_REPORT_SIZE = 0x1000;
export const CERT_CHAIN_SIZE = 0x1000;
export const ATTESTATION_CERT_CHAIN_SIZE = 0x1400;

export class NvmlError extends Error {
  override readonly name = 'NvmlError';
  constructor(
    message: string,
    readonly code?: number,
  ) {
    super(message);
  }
}

export interface NvmlCcState {
  readonly environment: number;
  readonly ccFeature: number;
  readonly devToolsMode: number;
  /** Only from nvmlSystemGetConfComputeSettings; undefined on older drivers. */
  readonly multiGpuMode?: number;
}

/** The NVML surface this provider uses (a koffi binding in production; a test double in tests). */
export interface NvmlApi {
  init(): number;
  shutdown(): number;
  errorString(code: number): string;
  ccState(): { ret: number; state?: NvmlCcState };
  ccSettings?(): { ret: number; state?: NvmlCcState };
  deviceCount(): { ret: number; count?: number };
  deviceHandle(index: number): { ret: number; handle?: unknown };
  attestationReport(handle: unknown, nonce: Uint8Array): { ret: number; report?: Uint8Array };
  attestationCertChain(handle: unknown): { ret: number; chain?: Uint8Array };
}

type Koffi = typeof koffiModule;

async function importKoffi(): Promise<Koffi> {
  try {
    return (await import('koffi')).default;
  } catch (e) {
    throw new NvmlError(
      `koffi (FFI) is not available: ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

interface NvmlTypes {
  readonly settingsSize: number;
  readonly sizes: Readonly<Record<'state' | 'settings' | 'report' | 'certificate', number>>;
}
let types: NvmlTypes | undefined;

/** Registers the nvml.h (R535+) structs with koffi once per process (names are global in koffi). */
function defineTypes(koffi: Koffi): NvmlTypes {
  if (types !== undefined) return types;
  const State = koffi.struct('teechat_nvmlConfComputeSystemState_t', {
    environment: 'uint',
    ccFeature: 'uint',
    devToolsMode: 'uint',
  });
  const Settings = koffi.struct('teechat_nvmlSystemConfComputeSettings_t', {
    version: 'uint',
    environment: 'uint',
    ccFeature: 'uint',
    devToolsMode: 'uint',
    multiGpuMode: 'uint',
  });
  const Report = koffi.struct('teechat_nvmlConfComputeGpuAttestationReport_t', {
    isCecAttestationReportPresent: 'uint',
    attestationReportSize: 'uint',
    cecAttestationReportSize: 'uint',
    nonce: koffi.array('uint8_t', CC_NONCE_SIZE, 'Typed'),
    attestationReport: koffi.array('uint8_t', ATTESTATION_REPORT_SIZE, 'Typed'),
    cecAttestationReport: koffi.array('uint8_t', CEC_ATTESTATION_REPORT_SIZE, 'Typed'),
  });
  const Cert = koffi.struct('teechat_nvmlConfComputeGpuCertificate_t', {
    certChainSize: 'uint',
    attestationCertChainSize: 'uint',
    certChain: koffi.array('uint8_t', CERT_CHAIN_SIZE, 'Typed'),
    attestationCertChain: koffi.array('uint8_t', ATTESTATION_CERT_CHAIN_SIZE, 'Typed'),
  });
  koffi.pointer('teechat_nvmlDevice_t', koffi.opaque());
  types = {
    settingsSize: koffi.sizeof(Settings),
    sizes: {
      state: koffi.sizeof(State),
      settings: koffi.sizeof(Settings),
      report: koffi.sizeof(Report),
      certificate: koffi.sizeof(Cert),
    },
  };
  return types;
}

/** The koffi struct sizes (tests compare them with nvml.h: 12, 20, 12332, 9224 bytes). */
export async function nvmlStructSizes(): Promise<NvmlTypes['sizes']> {
  return defineTypes(await importKoffi()).sizes;
}

/** Loads libnvidia-ml through koffi. Throws NvmlError with the loader's reason when absent. */
export async function loadNvml(path = 'libnvidia-ml.so.1'): Promise<NvmlApi> {
  const koffi = await importKoffi();
  let lib: ReturnType<Koffi['load']>;
  try {
    lib = koffi.load(path);
  } catch (e) {
    throw new NvmlError(
      `cannot load ${path} (is the NVIDIA driver installed in this VM?): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
  const { settingsSize } = defineTypes(koffi);
  const fn = (decl: string): ((...a: unknown[]) => unknown) | undefined => {
    try {
      return lib.func(decl) as (...a: unknown[]) => unknown;
    } catch {
      return undefined;
    }
  };
  const need = (decl: string): ((...a: unknown[]) => unknown) => {
    const f = fn(decl);
    if (f === undefined)
      throw new NvmlError(
        `${path} lacks ${decl.replace(/^\S+ (\w+).*$/, '$1')} (driver too old for confidential computing; R535+ needed)`,
      );
    return f;
  };
  const init = need('int nvmlInit_v2()');
  const shutdown = need('int nvmlShutdown()');
  const errStr = need('const char *nvmlErrorString(int result)');
  const getState = need(
    'int nvmlSystemGetConfComputeState(_Out_ teechat_nvmlConfComputeSystemState_t *state)',
  );
  const getSettings = fn(
    'int nvmlSystemGetConfComputeSettings(_Inout_ teechat_nvmlSystemConfComputeSettings_t *settings)',
  );
  const getCount = need('int nvmlDeviceGetCount_v2(_Out_ uint *count)');
  const getHandle = need(
    'int nvmlDeviceGetHandleByIndex_v2(uint index, _Out_ teechat_nvmlDevice_t *device)',
  );
  const getReport = need(
    'int nvmlDeviceGetConfComputeGpuAttestationReport(teechat_nvmlDevice_t device, _Inout_ teechat_nvmlConfComputeGpuAttestationReport_t *report)',
  );
  const getCert = need(
    'int nvmlDeviceGetConfComputeGpuCertificate(teechat_nvmlDevice_t device, _Out_ teechat_nvmlConfComputeGpuCertificate_t *cert)',
  );
  // NVML_STRUCT_VERSION(SystemConfComputeSettings, 1) = sizeof(struct) | (1 << 24).
  const settingsV1 = settingsSize | (1 << 24);
  return {
    init: () => init() as number,
    shutdown: () => shutdown() as number,
    errorString: (c) => String(errStr(c)),
    ccState: () => {
      const out: Record<string, number> = {};
      const ret = getState(out) as number;
      return {
        ret,
        state: {
          environment: out['environment'] ?? 0,
          ccFeature: out['ccFeature'] ?? 0,
          devToolsMode: out['devToolsMode'] ?? 0,
        },
      };
    },
    ...(getSettings !== undefined
      ? {
          ccSettings: () => {
            const io: Record<string, number> = {
              version: settingsV1,
              environment: 0,
              ccFeature: 0,
              devToolsMode: 0,
              multiGpuMode: 0,
            };
            const ret = getSettings(io) as number;
            return {
              ret,
              state: {
                environment: io['environment']!,
                ccFeature: io['ccFeature']!,
                devToolsMode: io['devToolsMode']!,
                multiGpuMode: io['multiGpuMode']!,
              },
            };
          },
        }
      : {}),
    deviceCount: () => {
      const out = [0];
      const ret = getCount(out) as number;
      return { ret, count: out[0] };
    },
    deviceHandle: (index) => {
      const out: unknown[] = [null];
      const ret = getHandle(index, out) as number;
      return { ret, handle: out[0] };
    },
    attestationReport: (handle, nonce) => {
      const io = {
        isCecAttestationReportPresent: 0,
        attestationReportSize: 0,
        cecAttestationReportSize: 0,
        nonce: Uint8Array.from(nonce),
        attestationReport: new Uint8Array(ATTESTATION_REPORT_SIZE),
        cecAttestationReport: new Uint8Array(CEC_ATTESTATION_REPORT_SIZE),
      };
      const ret = getReport(handle, io) as number;
      const n = Math.min(io.attestationReportSize, ATTESTATION_REPORT_SIZE);
      return { ret, report: Uint8Array.from(io.attestationReport.subarray(0, n)) };
    },
    attestationCertChain: (handle) => {
      const out: { attestationCertChainSize?: number; attestationCertChain?: Uint8Array } = {};
      const ret = getCert(handle, out) as number;
      const n = Math.min(out.attestationCertChainSize ?? 0, ATTESTATION_CERT_CHAIN_SIZE);
      return {
        ret,
        chain: Uint8Array.from((out.attestationCertChain ?? new Uint8Array()).subarray(0, n)),
      };
    },
  };
}

const ENV: Record<number, CcEnvironment> = { 0: 'unavailable', 1: 'simulation', 2: 'production' };
const MGPU: Record<number, MultiGpuMode> = { 0: 'none', 1: 'protected-pcie' };

export interface NvmlProviderOptions {
  readonly api: NvmlApi;
  /** Directory with RIMs from `teechat-server rims fetch` (rims.ts naming). */
  readonly rimCacheDir?: string;
  /**
   * Directory with OCSP responses from `teechat-server collateral fetch --nvidia` (collateral.ts
   * naming). Responses that still verify are stapled as `ocsp.1..3` (device chain) and
   * `ocsp.rim.{driver,vbios}.<n>` (RIM signing chains); the client requires them by default.
   */
  readonly ocspCacheDir?: string;
  /** Clock for the OCSP freshness of what is stapled (tests). Default: the system clock. */
  readonly now?: () => Date;
  /** Accept CC developer-tools mode (development only; the client's policy still rejects it by default). */
  readonly allowDevtools?: boolean;
  readonly log?: (msg: string) => void;
}

function check(api: NvmlApi, ret: number, what: string): void {
  if (ret !== NVML_SUCCESS)
    throw new NvmlError(`${what} failed: ${api.errorString(ret)} (NVML ${ret})`, ret);
}

export class NvmlEvidenceProvider implements EvidenceProvider {
  readonly kind = 'nvidia-gpu' as const;
  readonly simulated = false;
  readonly description: string;
  private constructor(
    private readonly opts: NvmlProviderOptions,
    readonly cc: CcStatus,
  ) {
    this.description = `NVIDIA GPU via NVML: ${cc.gpuCount} GPU(s), CC ${cc.ccFeature}, environment ${cc.environment}, devtools ${cc.devToolsMode}, multi-GPU ${cc.multiGpuMode}`;
  }

  /**
   * Loads libnvidia-ml through koffi and opens the provider (what the server calls for
   * `--gpu-attestation nvidia|auto`). Throws NvmlError (fail closed) with the reason.
   */
  static async create(
    opts: Omit<NvmlProviderOptions, 'api'> & { readonly libraryPath?: string },
  ): Promise<NvmlEvidenceProvider> {
    const api = await loadNvml(opts.libraryPath);
    return NvmlEvidenceProvider.open({ ...opts, api });
  }

  /** Initialises NVML and checks the CC state; throws NvmlError (fail closed) when CC is not usable. */
  static open(opts: NvmlProviderOptions): NvmlEvidenceProvider {
    const api = opts.api;
    check(api, api.init(), 'nvmlInit_v2');
    try {
      let st: NvmlCcState | undefined;
      const settings = api.ccSettings?.();
      if (settings !== undefined && settings.ret === NVML_SUCCESS) st = settings.state;
      else {
        const s = api.ccState();
        check(api, s.ret, 'nvmlSystemGetConfComputeState');
        st = s.state;
      }
      if (st === undefined) throw new NvmlError('nvmlSystemGetConfComputeState returned no state');
      const count = api.deviceCount();
      check(api, count.ret, 'nvmlDeviceGetCount_v2');
      const cc: CcStatus = {
        ccFeature: st.ccFeature === 1 ? 'on' : 'off',
        devToolsMode: st.devToolsMode === 1 ? 'on' : 'off',
        environment: ENV[st.environment] ?? 'unavailable',
        multiGpuMode:
          st.multiGpuMode === undefined ? 'unknown' : (MGPU[st.multiGpuMode] ?? 'unknown'),
        gpuCount: count.count ?? 0,
      };
      if (cc.ccFeature !== 'on')
        throw new NvmlError(
          'GPU confidential computing is OFF (nvmlSystemGetConfComputeState.ccFeature = disabled): refusing GPU evidence',
        );
      if (cc.devToolsMode === 'on' && opts.allowDevtools !== true) {
        throw new NvmlError(
          'GPU CC developer-tools (debug) mode is ON: refusing GPU evidence (set allowDevtools for development)',
        );
      }
      if (cc.gpuCount === 0) throw new NvmlError('no NVIDIA GPU found (nvmlDeviceGetCount_v2 = 0)');
      return new NvmlEvidenceProvider(opts, cc);
    } catch (e) {
      api.shutdown();
      throw e;
    }
  }

  collect(binding: BindingValues): Promise<EvidenceItem[]> {
    const api = this.opts.api;
    if (binding.gpuNonce.length !== CC_NONCE_SIZE)
      throw new NvmlError(
        `GPU nonce: expected ${CC_NONCE_SIZE} bytes, got ${binding.gpuNonce.length}`,
      );
    const items: EvidenceItem[] = [];
    const cc = encodeCcStatus(this.cc);
    for (let i = 0; i < this.cc.gpuCount; i++) {
      const h = api.deviceHandle(i);
      check(api, h.ret, `nvmlDeviceGetHandleByIndex_v2(${i})`);
      const rep = api.attestationReport(h.handle, binding.gpuNonce);
      check(api, rep.ret, `GPU ${i}: nvmlDeviceGetConfComputeGpuAttestationReport`);
      const cert = api.attestationCertChain(h.handle);
      check(api, cert.ret, `GPU ${i}: nvmlDeviceGetConfComputeGpuCertificate`);
      if (!rep.report || rep.report.length === 0)
        throw new NvmlError(`GPU ${i}: empty attestation report`);
      if (!cert.chain || cert.chain.length === 0)
        throw new NvmlError(`GPU ${i}: empty attestation certificate chain`);
      // Parse locally before shipping: a malformed report is a server-side failure, reported clearly.
      let report;
      let chainDer: Uint8Array;
      let chain: Certificate[];
      try {
        report = parseNvidiaReport(rep.report);
        chain = normalizeChain(parseCertChain(trimChain(cert.chain)));
        chainDer = concat(...chain.map((c) => c.der));
      } catch (e) {
        throw new NvmlError(
          `GPU ${i}: NVML returned evidence that does not parse: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
      const parts = new Map<string, Uint8Array>([
        ['report', rep.report],
        ['chain', chainDer],
        ['cc', cc],
      ]);
      if (this.opts.rimCacheDir !== undefined) {
        const rims = loadCachedRims(this.opts.rimCacheDir, report.opaque);
        if (rims.driver) parts.set('rim.driver', rims.driver);
        if (rims.vbios) parts.set('rim.vbios', rims.vbios);
        if (!rims.driver || !rims.vbios)
          this.opts.log?.(
            `GPU ${i}: RIM cache lacks ${[!rims.driver ? rims.ids.driver : '', !rims.vbios ? rims.ids.vbios : ''].filter(Boolean).join(', ')} (run: teechat-server rims fetch)`,
          );
      }
      if (this.opts.ocspCacheDir !== undefined) {
        const now = (this.opts.now ?? (() => new Date()))();
        const missing: string[] = [];
        const staple = (c: readonly Certificate[], prefix: string, start: number): void => {
          const s = stapleOcsp(this.opts.ocspCacheDir!, c, prefix, start, now);
          for (const [k, v] of s.parts) parts.set(k, v);
          missing.push(...s.missing);
        };
        staple(chain, 'ocsp', 1);
        for (const which of ['driver', 'vbios'] as const) {
          const xml = parts.get(`rim.${which}`);
          if (xml !== undefined) staple(rimChainOf(xml, now), `ocsp.rim.${which}`, 0);
        }
        if (missing.length > 0)
          this.opts.log?.(
            `GPU ${i}: no fresh OCSP response for ${missing.join(', ')} (run: teechat-server collateral fetch --nvidia)`,
          );
      }
      items.push({ kind: 'nvidia-gpu', label: `gpu${i}`, parts });
    }
    return Promise.resolve(items);
  }

  /** Reads one report with a random nonce (used by `rims fetch --from-nvml` to learn the RIM ids). */
  probe(): Promise<EvidenceItem[]> {
    return this.collect({
      cpuReportData: new Uint8Array(64),
      gpuNonce: new Uint8Array(randomBytes(CC_NONCE_SIZE)),
    });
  }

  close(): void {
    this.opts.api.shutdown();
  }
}

/**
 * RIM ids of the local GPUs: opens NVML (fails closed like the evidence provider), reads one report
 * per GPU over a random nonce and derives the ids from its opaque fields.
 */
export async function idsFromLocalNvml(): Promise<
  { ids: RimIds; driverVersion: string; vbiosVersion: string }[]
> {
  const provider = NvmlEvidenceProvider.open({ api: await loadNvml() });
  try {
    const out: { ids: RimIds; driverVersion: string; vbiosVersion: string }[] = [];
    for (const item of await provider.probe()) {
      const o = parseNvidiaReport(item.parts.get('report')!).opaque;
      out.push({
        ids: rimIdsFor(o),
        driverVersion: o.driverVersion ?? '',
        vbiosVersion: o.vbiosVersion ?? '',
      });
    }
    return out;
  } finally {
    provider.close();
  }
}

/** The device certificate chains of the local GPUs (for `collateral fetch --from-nvml`). */
export async function chainsFromLocalNvml(): Promise<Uint8Array[]> {
  const provider = NvmlEvidenceProvider.open({ api: await loadNvml() });
  try {
    return (await provider.probe()).map((item) => item.parts.get('chain')!);
  } finally {
    provider.close();
  }
}
