/**
 * NVIDIA GPU / NVSwitch policy: one plain data object (DESIGN.md §5) that the lead merges into the
 * shared policy. Every field has a documented default in `DEFAULT_NVIDIA_POLICY`.
 */

export interface NvidiaPolicy {
  /** Accept only these driver versions (e.g. "550.90.07"); empty = any version. */
  readonly allowedDriverVersions: readonly string[];
  /** Accept only these VBIOS versions (e.g. "96.00.9F.00.01", case-insensitive); empty = any. */
  readonly allowedVbiosVersions: readonly string[];
  /** Minimum driver version (dotted numeric comparison), or null for no floor. */
  readonly minDriverVersion: string | null;
  /**
   * Relaxation (relax.ts): accept a GPU report without signed driver + VBIOS RIMs. Default false:
   * both RIMs are required and every active golden measurement must match.
   */
  readonly allowMissingRims: boolean;
  /** NVSwitches: require RIMs too (NVIDIA publishes none publicly yet; default false). */
  readonly requireSwitchRims: boolean;
  /**
   * Require the server's NVML confidential-computing status (evidence part `cc`) to say CC is on.
   * The part is produced by the measured server inside the attested CVM; the SPDM report itself
   * has no CC-mode bit.
   */
  readonly requireCcMode: boolean;
  /** Reject CC developer-tools (debug) mode and a non-production CC environment when the `cc` part says so. */
  readonly rejectDevtools: boolean;
  /** With more than one GPU, require protected PCIe (PPCIe) in every signed GPU report. */
  readonly requirePpcieForMultiGpu: boolean;
  /**
   * Relaxations (relax.ts), default false: a cached OCSP response with status good, current at
   * the verification time and carrying a nextUpdate, is required for every device-chain
   * certificate between the leaf and the root, and for every certificate below the root of both
   * RIM signing chains.
   */
  readonly allowMissingDeviceOcsp: boolean;
  readonly allowMissingRimOcsp: boolean;
  readonly allowOcspWithoutNextUpdate: boolean;
  /** Development only: accept a chain / RIM root that the evidence itself supplies (simulated provider). */
  readonly allowSimulated: boolean;
}

export const DEFAULT_NVIDIA_POLICY: NvidiaPolicy = {
  allowedDriverVersions: [],
  allowedVbiosVersions: [],
  minDriverVersion: null,
  allowMissingRims: false,
  requireSwitchRims: false,
  requireCcMode: true,
  rejectDevtools: true,
  requirePpcieForMultiGpu: false,
  allowMissingDeviceOcsp: false,
  allowMissingRimOcsp: false,
  allowOcspWithoutNextUpdate: false,
  allowSimulated: false,
};

/** Compares dotted numeric versions ("550.90.07" < "570.124.06"); NaN parts compare as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}
