/**
 * The attestation policy: ONE plain-data object (JSON-serialisable; bytes as lowercase hex) with
 * documented defaults. It holds every expected value the verifiers compare evidence against, so it
 * can later arrive as a signed, pinned, logged deployment manifest (DESIGN §5). Rules:
 * - defaults are the strict choice where there is one (debug forbidden, simulated roots refused);
 * - an empty allowlist means "not constrained" and the check says so in its message;
 * - only the user (settings, CLI flags, a policy file they chose) may change it: nothing received
 *   from the server may ever widen it (`mergePolicy` is for trusted inputs only).
 *
 * Sections: `snp` (AMD SEV-SNP, also applied to the SNP report inside an Azure HCL report),
 * `azure` (Azure CVM vTPM), and sections other verifiers add (TDX, NVIDIA GPU).
 */
import { ProtocolError } from '../errors';
import { DEFAULT_TDX_POLICY } from './tdx/policy';
import type { TdxPolicy } from './tdx/policy';
import { isDriverBulletins } from './nvidia/policy';

/** A minimum TCB per component (SVNs). Turin adds `fmc`. Components left out are not checked. */
export interface TcbFloor {
  readonly bl?: number;
  readonly tee?: number;
  readonly snp?: number;
  readonly microcode?: number;
  readonly fmc?: number;
}

export interface SnpPolicy {
  /** Accept a guest whose policy allows debugging (the hypervisor can then read guest memory). Default false. */
  readonly allowDebug: boolean;
  /** Accept a platform with SMT enabled (PLATFORM_INFO.SMT_EN). Default true (cloud hosts run SMT). */
  readonly allowSmt: boolean;
  /** Accept a guest policy that allows a migration agent. Default false. */
  readonly allowMigrationAgent: boolean;
  /** Require the guest policy's SINGLE_SOCKET bit. Default false. */
  readonly requireSingleSocket: boolean;
  /** Required VMPL of the report (0 = most privileged), or null for any. Default null. */
  readonly vmpl: number | null;
  /** Minimum GUEST_SVN. Default 0. */
  readonly minGuestSvn: number;
  /** Minimum TCB applied to the reported, current, committed and launch TCB. Default: none. */
  readonly minTcb: TcbFloor;
  /**
   * Per-product minimum TCB, applied with `minTcb` (the higher of the two per component). The
   * defaults come from AMD's security bulletins (see DEFAULT_SNP_POLICY); `{}` removes them.
   */
  readonly minTcbByProduct: { readonly [P in 'milan' | 'genoa' | 'turin']?: TcbFloor };
  /** Minimum firmware version "major.minor" (CURRENT_MAJOR/MINOR, v3+ reports), or null. */
  readonly minFirmware: string | null;
  /** Accept firmware that is not yet committed (CURRENT_TCB != COMMITTED_TCB). Default false. */
  readonly permitProvisionalFirmware: boolean;
  /** Allowed launch MEASUREMENTs (48-byte hex). Empty: any (the check says "not constrained"). */
  readonly measurements: readonly string[];
  /** Required HOST_DATA (32-byte hex), or null for any. */
  readonly hostData: string | null;
  /** Allowed ID_KEY_DIGESTs (48-byte hex). Empty: any. */
  readonly idKeyDigests: readonly string[];
  /** Allowed AUTHOR_KEY_DIGESTs (48-byte hex). Empty: any. */
  readonly authorKeyDigests: readonly string[];
  /** Required FAMILY_ID / IMAGE_ID (16-byte hex), or null for any. */
  readonly familyId: string | null;
  readonly imageId: string | null;
  /** Signing keys accepted. Default both VCEK and VLEK. */
  readonly signingKeys: readonly ('VCEK' | 'VLEK')[];
  /** Products accepted. Default all three. */
  readonly products: readonly ('milan' | 'genoa' | 'turin')[];
  /**
   * Relaxation (relax.ts): accept evidence without the ARK-signed CRL. Default false: the CRL is
   * required, must verify with the pinned ARK and be current, and the ASK/ASVK and VCEK/VLEK must
   * not be on it.
   */
  readonly allowMissingCrl: boolean;
  /**
   * Expected REPORT_DATA (64-byte hex) when no handshake binding is given (the CLI's
   * `--expect-report-data`). The handshake always compares against its own binding value.
   */
  readonly expectedReportData: string | null;
}

export interface AzurePolicy {
  /**
   * Allowed SNP measurements of the Azure paravisor (HCL) firmware. On Azure the SNP MEASUREMENT
   * covers Microsoft's paravisor, not the guest OS; the guest is bound through the vTPM PCRs.
   * Empty: any.
   */
  readonly paravisorMeasurements: readonly string[];
  /** Expected vTPM PCR values (SHA-256 bank): PCR index → allowed 32-byte hex values. */
  readonly pcrs: { readonly [index: string]: readonly string[] };
  /** Expected TPM quote nonce (extraData, hex) when no handshake binding is given (CLI). */
  readonly expectedNonce: string | null;
}

export interface AttestationPolicy {
  /** Trust a root certificate supplied in the evidence (development / simulated providers). Default false. */
  readonly allowSimulated: boolean;
  readonly snp: SnpPolicy;
  readonly azure: AzurePolicy;
  /** Intel TDX (tdx/policy.ts). */
  readonly tdx: TdxPolicy;
}

export const DEFAULT_SNP_POLICY: SnpPolicy = {
  allowDebug: false,
  allowSmt: true,
  allowMigrationAgent: false,
  requireSingleSocket: false,
  vmpl: null,
  minGuestSvn: 0,
  minTcb: {},
  // Floors as data, one source per value. AMD-SB-3023 (CVE-2025-48514, SEV firmware): the SEV
  // firmware release with the mitigation raised the SNP SPL (TCB_VERSION.SNP) to 0x1b (27) on Milan
  // and Genoa and to 0x04 on Turin; the Linux kernel applies the same thresholds
  // (drivers/crypto/ccp/sev-dev.c `sev_firmware_allows_es`, commit 4b28f0846ef6, "Documented in
  // AMD-SB-3023"). A platform below them runs firmware without that mitigation. Bootloader, TEE
  // and microcode floors are not set: no bulletin value could be sourced for them here.
  minTcbByProduct: {
    milan: { snp: 0x1b }, // AMD-SB-3023
    genoa: { snp: 0x1b }, // AMD-SB-3023
    turin: { snp: 0x04 }, // AMD-SB-3023
  },
  // No minimum firmware build: AMD's bulletins name fixed versions per product in their tables,
  // none could be sourced here; the SNP SPL above carries the same information in the signed TCB.
  minFirmware: null,
  permitProvisionalFirmware: false,
  measurements: [],
  hostData: null,
  idKeyDigests: [],
  authorKeyDigests: [],
  familyId: null,
  imageId: null,
  signingKeys: ['VCEK', 'VLEK'],
  products: ['milan', 'genoa', 'turin'],
  allowMissingCrl: false,
  expectedReportData: null,
};

export const DEFAULT_AZURE_POLICY: AzurePolicy = {
  paravisorMeasurements: [],
  pcrs: {},
  expectedNonce: null,
};

export const DEFAULT_POLICY: AttestationPolicy = {
  allowSimulated: false,
  snp: DEFAULT_SNP_POLICY,
  azure: DEFAULT_AZURE_POLICY,
  tdx: DEFAULT_TDX_POLICY,
};

type Plain = { [k: string]: unknown };
const isPlain = (v: unknown): v is Plain =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Deep-merges a (trusted) partial policy over `base`: objects merge key by key, arrays and
 * scalars replace. Unknown keys and type mismatches are rejected (ProtocolError 'usage'), so a
 * typo in a policy file never silently disables a check. Sections this module does not know
 * (e.g. `tdx`, `gpu`) are merged with the same rules against whatever `base` holds.
 */
export function mergePolicy<T extends object>(base: T, override: unknown, path = 'policy'): T {
  if (override === undefined) return base;
  if (!isPlain(override))
    throw new ProtocolError('usage', `${path}: expected an object, got ${typeof override}`, path);
  const out: Plain = { ...(base as Plain) };
  for (const [k, v] of Object.entries(override)) {
    const p = `${path}.${k}`;
    if (!(k in out))
      throw new ProtocolError(
        'usage',
        `${p}: expected one of ${Object.keys(out).join(', ')}, got unknown key`,
        p,
      );
    const cur = out[k];
    if (isPlain(cur) && Object.keys(cur).length > 0 && !isRecordSection(p)) {
      out[k] = mergePolicy(cur, v, p);
      continue;
    }
    if (isPlain(cur)) {
      if (!isPlain(v))
        throw new ProtocolError('usage', `${p}: expected an object, got ${typeof v}`, p);
      checkValue(p, v);
      out[k] = v;
      continue;
    }
    const want = cur === null ? null : Array.isArray(cur) ? 'array' : typeof cur;
    const got = v === null ? null : Array.isArray(v) ? 'array' : typeof v;
    const nullable = cur === null || NULLABLE.has(k);
    if (!(
      got === want ||
      (nullable && (got === null || typeof v === 'string' || typeof v === 'number'))
    )) {
      throw new ProtocolError(
        'usage',
        `${p}: expected ${want ?? 'null or a value'}, got ${got ?? 'null'}`,
        p,
      );
    }
    checkValue(p, v);
    out[k] = v;
  }
  return out as T;
}

/** Keys whose value may be null or a value. */
const NULLABLE = new Set([
  'vmpl',
  'minFirmware',
  'hostData',
  'familyId',
  'imageId',
  'expectedReportData',
  'expectedNonce',
]);
/** Sections that are free-form records (replaced as a whole, not merged key by key). */
const isRecordSection = (p: string): boolean =>
  p.endsWith('.minTcb') || p.endsWith('.pcrs') || p.endsWith('.minTcbByProduct');

const HEX = (bytes: number): RegExp => new RegExp(`^(0x)?[0-9a-fA-F]{${2 * bytes}}$`);
const isHexUpTo = (v: unknown, max: number): boolean =>
  typeof v === 'string' &&
  /^(0x)?([0-9a-fA-F]{2})+$/.test(v) &&
  v.replace(/^0x/, '').length <= 2 * max;
const isInt = (v: unknown, min: number, max: number): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
const listOf = (v: unknown, ok: (x: unknown) => boolean): boolean =>
  Array.isArray(v) && v.every(ok);

/**
 * Value checks for the snp and azure sections, so that a malformed value in a policy file is an
 * error rather than a check that silently never matches (or, for numbers, never fails).
 */
const VALUE_CHECKS: Readonly<Record<string, readonly [(v: unknown) => boolean, string]>> = {
  'snp.vmpl': [(v) => v === null || isInt(v, 0, 3), 'null or 0..3'],
  'snp.minGuestSvn': [(v) => isInt(v, 0, 0xffffffff), 'an integer 0..2^32-1'],
  'snp.minTcb': [
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      Object.entries(v).every(
        ([k, x]) => ['bl', 'tee', 'snp', 'microcode', 'fmc'].includes(k) && isInt(x, 0, 255),
      ),
    'an object with bl/tee/snp/microcode/fmc integers 0..255',
  ],
  'snp.minTcbByProduct': [
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      Object.entries(v).every(
        ([prod, t]) =>
          ['milan', 'genoa', 'turin'].includes(prod) &&
          typeof t === 'object' &&
          t !== null &&
          Object.entries(t as object).every(
            ([k, x]) => ['bl', 'tee', 'snp', 'microcode', 'fmc'].includes(k) && isInt(x, 0, 255),
          ),
      ),
    'an object of milan/genoa/turin → {bl, tee, snp, microcode, fmc} integers 0..255',
  ],
  'nvidia.driverBulletins': [
    isDriverBulletins,
    'an array of {id, effectiveFrom: "YYYY-MM-DD", floors: {Rnnn: "n.n.n" | "unfixed"}} (each version on its own branch)',
  ],
  'nvidia.minVbiosVersion': [
    (v) => v === null || (typeof v === 'string' && /^[0-9a-fA-F]{2}(\.[0-9a-fA-F]{2}){4}$/.test(v)),
    'null or a VBIOS version of 5 hex pairs ("96.00.9F.00.01")',
  ],
  'snp.minFirmware': [
    (v) => v === null || (typeof v === 'string' && /^\d{1,3}(\.\d{1,3})?$/.test(v)),
    'null or "major.minor"',
  ],
  'snp.measurements': [
    (v) => listOf(v, (x) => typeof x === 'string' && HEX(48).test(x)),
    'a list of 48-byte hex strings',
  ],
  'snp.hostData': [
    (v) => v === null || (typeof v === 'string' && HEX(32).test(v)),
    'null or 32-byte hex',
  ],
  'snp.idKeyDigests': [
    (v) => listOf(v, (x) => typeof x === 'string' && HEX(48).test(x)),
    'a list of 48-byte hex strings',
  ],
  'snp.authorKeyDigests': [
    (v) => listOf(v, (x) => typeof x === 'string' && HEX(48).test(x)),
    'a list of 48-byte hex strings',
  ],
  'snp.familyId': [
    (v) => v === null || (typeof v === 'string' && HEX(16).test(v)),
    'null or 16-byte hex',
  ],
  'snp.imageId': [
    (v) => v === null || (typeof v === 'string' && HEX(16).test(v)),
    'null or 16-byte hex',
  ],
  'snp.signingKeys': [
    (v) => listOf(v, (x) => x === 'VCEK' || x === 'VLEK'),
    'a list of "VCEK" / "VLEK"',
  ],
  'snp.products': [
    (v) => listOf(v, (x) => x === 'milan' || x === 'genoa' || x === 'turin'),
    'a list of milan / genoa / turin',
  ],
  'snp.expectedReportData': [
    (v) => v === null || isHexUpTo(v, 64),
    'null or hex of at most 64 bytes',
  ],
  'azure.paravisorMeasurements': [
    (v) => listOf(v, (x) => typeof x === 'string' && HEX(48).test(x)),
    'a list of 48-byte hex strings',
  ],
  'azure.pcrs': [
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      Object.entries(v).every(
        ([k, x]) =>
          /^\d{1,2}$/.test(k) &&
          Number(k) <= 23 &&
          listOf(x, (h) => typeof h === 'string' && HEX(32).test(h)),
      ),
    'an object {"0".."23": [32-byte hex, ...]}',
  ],
  'azure.expectedNonce': [(v) => v === null || isHexUpTo(v, 64), 'null or hex of at most 64 bytes'],
};

function checkValue(path: string, v: unknown): void {
  const key = path.split('.').slice(-2).join('.');
  const rule = VALUE_CHECKS[key];
  if (rule !== undefined && !rule[0](v)) {
    throw new ProtocolError(
      'usage',
      `${path}: expected ${rule[1]}, got ${JSON.stringify(v)?.slice(0, 80)}`,
      path,
    );
  }
}
