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
   * NVIDIA driver floors per driver branch, as data: one entry per NVIDIA GPU display-driver
   * security bulletin (Linux, "Tesla" = data-center rows), each applying from its date. At the
   * verification time (injected clock / `--at`) the latest bulletin dated on or before it decides
   * which branches are fixed; the floor of a branch is the highest fixed version any bulletin up
   * to then names. A branch that bulletin does not list, or marks `unfixed`, is refused; before
   * the first bulletin no floor applies (an audit is judged by what was known then). Switches
   * have no driver version and are not checked. Relaxation: `allowDriverBelowFloor`.
   */
  readonly driverBulletins: readonly DriverBulletin[];
  /**
   * Relaxation (relax.ts): do not refuse a driver below its branch's floor, on an unfixed branch
   * or on a branch the bulletin does not list. Default false.
   */
  readonly allowDriverBelowFloor: boolean;
  /**
   * Minimum VBIOS version, or null. Null by default: NVIDIA's display-driver bulletins name driver
   * versions only; none of those encoded here gives a VBIOS/GPU-firmware version (the GPU
   * firmware is pinned by the signed VBIOS RIM comparison instead).
   */
  readonly minVbiosVersion: string | null;
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

/** A driver branch ("R580") → its minimum fixed version, or `unfixed` (no fixed release). */
export type DriverFloors = { readonly [branch: string]: string };

export interface DriverBulletin {
  /** NVIDIA bulletin id (nvidia.custhelp.com a_id / github.com/NVIDIA/product-security). */
  readonly id: string;
  /** Date (YYYY-MM-DD, UTC) from which the floors apply: the bulletin revision they come from. */
  readonly effectiveFrom: string;
  readonly floors: DriverFloors;
}

/**
 * Sources: NVIDIA Product Security, https://github.com/NVIDIA/product-security (CSAF + Markdown),
 * table "Security Updates", rows Product "Tesla", Platform "Linux(Rnnn)", column "Updated Version".
 * A branch a bulletin does not list but that is in use on CC GPUs is written `unfixed` with a
 * comment; any other unlisted branch is refused as well.
 */
export const NVIDIA_DRIVER_BULLETINS: readonly DriverBulletin[] = [
  {
    // Bulletin 5747 "Security Bulletin: GPU Display Driver - January 2026", published 2026-01-28
    // (CVE-2025-33217..33220, CVE-2025-33237).
    id: '5747',
    effectiveFrom: '2026-01-28',
    floors: {
      R535: '535.288.01', // 5747, Tesla Linux(R535)
      R570: '570.211.01', // 5747, Tesla Linux(R570)
      R580: '580.126.09', // 5747, Tesla Linux(R580)
      R590: '590.48.01', // 5747, Tesla Linux(R590)
      R550: 'unfixed', // 5747 lists no R550 update (branch end of life)
      R575: 'unfixed', // 5747 lists no R575 update
    },
  },
  {
    // Bulletin 5821 "Security Bulletin: GPU Display Driver - May 2026", initial release 2026-05-19;
    // the versions below are those of revision 3.0.0 (2026-05-21; revision 2.0.0 of 2026-05-20
    // changed the R580 versions and replaced R590 with R595), so it applies from 2026-05-21.
    id: '5821',
    effectiveFrom: '2026-05-21',
    floors: {
      R535: '535.309.01', // 5821, Tesla Linux(R535)
      R580: '580.159.03', // 5821, Tesla Linux(R580)
      R595: '595.71.05', // 5821, Tesla Linux(R595)
      R550: 'unfixed', // 5821 lists no R550 update
      R570: 'unfixed', // 5821 lists no R570 update (revision 2.0.0 removed the R570 row)
      R575: 'unfixed', // 5821 lists no R575 update
      R590: 'unfixed', // 5821 revision 2.0.0 replaced R590 with R595
    },
  },
  {
    // Bulletin 5861 "Security Bulletin: GPU Display Driver – September 2026", published
    // 2026-09-30 (CVE-2026-47489..47604; version 1.0.0, the only revision).
    id: '5861',
    effectiveFrom: '2026-09-30',
    floors: {
      R580: '580.178.04', // 5861, Tesla Linux(R580)
      R595: '595.91.07', // 5861, Tesla Linux(R595)
      R610: '610.57.04', // 5861, Tesla Linux(R610)
      R615: '615.71.09', // 5861, Tesla Linux(R615)
      R535: 'unfixed', // 5861 lists no R535 update ("upgrade to the latest branch release")
      R550: 'unfixed', // no R550 update
      R570: 'unfixed', // no R570 update
      R575: 'unfixed', // no R575 update
      R590: 'unfixed', // no R590 update
    },
  },
];

export const DEFAULT_NVIDIA_POLICY: NvidiaPolicy = {
  allowedDriverVersions: [],
  allowedVbiosVersions: [],
  minDriverVersion: null,
  driverBulletins: NVIDIA_DRIVER_BULLETINS,
  allowDriverBelowFloor: false,
  minVbiosVersion: null,
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

/**
 * Compares dotted numeric driver versions ("550.90.07" < "570.124.06"); null when either is not
 * one (the caller refuses: a version that does not parse is never read as 0).
 */
export function compareVersions(a: string, b: string): number | null {
  if (!DRIVER_VERSION.test(a) || !DRIVER_VERSION.test(b)) return null;
  const pa = a.split('.').map((x) => parseInt(x, 10));
  const pb = b.split('.').map((x) => parseInt(x, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** A VBIOS version as NVIDIA prints it: dot-separated hex groups ("96.00.9F.00.01"). */
const VBIOS_VERSION = /^[0-9a-fA-F]{1,4}(\.[0-9a-fA-F]{1,4}){1,7}$/;

/**
 * Compares VBIOS versions ("96.00.9F.00.01") group by group as hex numbers; null when either is
 * not a VBIOS version (the caller refuses: a version that does not parse is never read as 0).
 */
export function compareVbiosVersions(a: string, b: string): number | null {
  if (!VBIOS_VERSION.test(a) || !VBIOS_VERSION.test(b)) return null;
  const pa = a.split('.').map((x) => parseInt(x, 16));
  const pb = b.split('.').map((x) => parseInt(x, 16));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** A strict dotted-numeric driver version ("580.178.04"): 2–4 groups of 1–4 digits. */
const DRIVER_VERSION = /^\d{1,4}(\.\d{1,4}){1,3}$/;

/** The driver branch of a version ("580.178.04" → "R580"), or null when it is not a version. */
export function driverBranch(version: string): string | null {
  return DRIVER_VERSION.test(version) ? `R${version.split('.')[0]!}` : null;
}

export type DriverFloorVerdict =
  | { readonly kind: 'no-bulletin'; readonly at: string }
  | { readonly kind: 'bad-version'; readonly version: string }
  | {
      readonly kind: 'ok' | 'below';
      readonly branch: string;
      readonly floor: string;
      readonly floorFrom: string;
      readonly bulletin: DriverBulletin;
    }
  | { readonly kind: 'unfixed'; readonly branch: string; readonly bulletin: DriverBulletin }
  | {
      readonly kind: 'unlisted';
      readonly branch: string;
      readonly bulletin: DriverBulletin;
      readonly listed: readonly string[];
    };

/** Milliseconds of a YYYY-MM-DD date at 00:00 UTC, or NaN. */
function dayMs(d: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(d) ? Date.parse(`${d}T00:00:00Z`) : NaN;
}

/**
 * Judges a driver version against the bulletins in force at `at` (see `driverBulletins`). Pure;
 * bulletins whose date does not parse never apply (the policy validator rejects them first).
 */
export function driverFloorAt(
  bulletins: readonly DriverBulletin[],
  version: string,
  at: Date,
): DriverFloorVerdict {
  const t = at.getTime();
  const inForce = bulletins
    .filter((b) => dayMs(b.effectiveFrom) <= t)
    .sort((a, b) => dayMs(a.effectiveFrom) - dayMs(b.effectiveFrom));
  const latest = inForce[inForce.length - 1];
  if (latest === undefined) return { kind: 'no-bulletin', at: at.toISOString() };
  const branch = driverBranch(version);
  if (branch === null) return { kind: 'bad-version', version };
  const entry = latest.floors[branch];
  if (entry === undefined)
    return { kind: 'unlisted', branch, bulletin: latest, listed: Object.keys(latest.floors) };
  if (entry === 'unfixed') return { kind: 'unfixed', branch, bulletin: latest };
  let floor = entry;
  let floorFrom = latest.id;
  for (const b of inForce) {
    const f = b.floors[branch];
    // floors are validated (isDriverBulletins / the typed default table): null cannot occur here
    if (f !== undefined && f !== 'unfixed' && (compareVersions(f, floor) ?? 0) > 0) {
      floor = f;
      floorFrom = b.id;
    }
  }
  const cmp = compareVersions(version, floor);
  if (cmp === null) return { kind: 'bad-version', version };
  return {
    kind: cmp >= 0 ? 'ok' : 'below',
    branch,
    floor,
    floorFrom,
    bulletin: latest,
  };
}

/** Validates a `driverBulletins` value from a policy file (true when well formed). */
export function isDriverBulletins(v: unknown): boolean {
  return (
    Array.isArray(v) &&
    v.every((b) => {
      if (typeof b !== 'object' || b === null || Array.isArray(b)) return false;
      const o = b as { [k: string]: unknown };
      const floors = o['floors'];
      return (
        Object.keys(o).every((k) => k === 'id' || k === 'effectiveFrom' || k === 'floors') &&
        typeof o['id'] === 'string' &&
        o['id'].length > 0 &&
        typeof o['effectiveFrom'] === 'string' &&
        !Number.isNaN(dayMs(o['effectiveFrom'])) &&
        typeof floors === 'object' &&
        floors !== null &&
        !Array.isArray(floors) &&
        Object.entries(floors).every(
          ([k, f]) =>
            /^R\d{1,4}$/.test(k) &&
            typeof f === 'string' &&
            (f === 'unfixed' || (DRIVER_VERSION.test(f) && driverBranch(f) === k)),
        )
      );
    })
  );
}
