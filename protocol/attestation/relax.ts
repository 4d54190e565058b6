/**
 * Relaxations: the only ways to accept evidence with a required input missing. Fail closed is the
 * default (DESIGN §5): TDX collateral (TCB info, QE identity, PCK CRL, root CA CRL), the SNP
 * ARK-signed CRL, NVIDIA RIMs and OCSP responses (device chain, both RIM chains) are required, and
 * an OCSP response without nextUpdate is refused. Each relaxation is one boolean policy key, off by
 * default, with a `teechat attest verify` flag; while one is on, every report carries a passing
 * `relaxed.<key>` check whose message starts with "RELAXED" and says what it gives up, and the
 * verdict / summary lines name it. A relaxation is never taken from a workspace setting and never
 * from the server: only from the user's policy file or CLI flags (`mergePolicy`).
 */
import type { Check } from './types';

export type RelaxSection = 'tdx' | 'snp' | 'nvidia';

export interface Relaxation {
  readonly section: RelaxSection;
  /** The policy key in its section, e.g. `allowMissingTcbInfo`. */
  readonly key: string;
  /** The `teechat attest verify` flag that turns it on. */
  readonly flag: string;
  /** What accepting evidence under this relaxation gives up (shown in every report). */
  readonly givesUp: string;
}

export const RELAXATIONS: readonly Relaxation[] = [
  {
    section: 'tdx',
    key: 'allowMissingTcbInfo',
    flag: '--allow-missing-tcb-info',
    givesUp: 'no TCB info: the platform TCB status (OutOfDate, Revoked) is not evaluated',
  },
  {
    section: 'tdx',
    key: 'allowMissingQeIdentity',
    flag: '--allow-missing-qe-identity',
    givesUp: 'no QE identity: a rogue or out-of-date quoting enclave is not detected',
  },
  {
    section: 'tdx',
    key: 'allowMissingPckCrl',
    flag: '--allow-missing-pck-crl',
    givesUp: 'no PCK CRL: a revoked PCK certificate (compromised platform key) is accepted',
  },
  {
    section: 'tdx',
    key: 'allowMissingRootCaCrl',
    flag: '--allow-missing-root-ca-crl',
    givesUp: 'no root CA CRL: a revoked Intel intermediate CA is accepted',
  },
  {
    section: 'snp',
    key: 'allowMissingCrl',
    flag: '--allow-missing-crl',
    givesUp: 'no ARK-signed CRL: a revoked ASK/ASVK/VCEK/VLEK is accepted',
  },
  {
    section: 'nvidia',
    key: 'allowMissingRims',
    flag: '--allow-missing-rims',
    givesUp:
      'no RIMs: the GPU firmware and driver measurements are not compared with signed values',
  },
  {
    section: 'nvidia',
    key: 'allowDriverBelowFloor',
    flag: '--allow-driver-below-floor',
    givesUp:
      "NVIDIA's per-branch driver floors are not enforced: a driver with published vulnerabilities (below its branch's fixed version, or on a branch with no fix) is accepted",
  },
  {
    section: 'nvidia',
    key: 'allowMissingDeviceOcsp',
    flag: '--allow-missing-device-ocsp',
    givesUp: 'no device-chain OCSP: a revoked GPU identity certificate is accepted',
  },
  {
    section: 'nvidia',
    key: 'allowMissingRimOcsp',
    flag: '--allow-missing-rim-ocsp',
    givesUp: 'no RIM-chain OCSP: a RIM signed by a revoked NVIDIA signing certificate is accepted',
  },
  {
    section: 'nvidia',
    key: 'allowOcspWithoutNextUpdate',
    flag: '--allow-ocsp-without-next-update',
    givesUp: 'an OCSP response without nextUpdate is accepted (it never expires)',
  },
];

type Section = { readonly [k: string]: unknown } | undefined;

/** The relaxations turned on in `policy` (sections absent from it count as off). */
export function activeRelaxations(policy: {
  readonly tdx?: Section | object;
  readonly snp?: Section | object;
  readonly nvidia?: Section | object;
}): Relaxation[] {
  return RELAXATIONS.filter(
    (r) => (policy[r.section] as { readonly [k: string]: unknown } | undefined)?.[r.key] === true,
  );
}

/** The relaxations of one section that are on. */
export function sectionRelaxations(section: RelaxSection, s: object | undefined): Relaxation[] {
  return RELAXATIONS.filter(
    (r) =>
      r.section === section &&
      (s as { readonly [k: string]: unknown } | undefined)?.[r.key] === true,
  );
}

/** `relaxed.<key>` checks (passing, message "RELAXED …") for the relaxations of a section. */
export function relaxationChecks(section: RelaxSection, s: object | undefined): Check[] {
  return sectionRelaxations(section, s).map((r) => ({
    id: `relaxed.${r.key}`,
    ok: true,
    message: `RELAXED ${r.section}.${r.key} (${r.flag}): ${r.givesUp}`,
  }));
}

/** Names of the relaxations seen in a set of checks (for one-line verdicts and summaries). */
export function relaxedIn(checks: readonly Check[]): string[] {
  return [...new Set(checks.filter((c) => c.id.startsWith('relaxed.')).map((c) => c.id.slice(8)))];
}

/** The CLI flag → policy override map (`teechat attest verify`). */
export function relaxationFromFlags(
  flags: ReadonlySet<string>,
  section: RelaxSection,
): { [k: string]: boolean } {
  const out: { [k: string]: boolean } = {};
  for (const r of RELAXATIONS) if (r.section === section && flags.has(r.flag)) out[r.key] = true;
  return out;
}
