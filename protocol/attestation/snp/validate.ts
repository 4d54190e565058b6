/**
 * AMD SEV-SNP validation: the policy checks on a parsed report whose signature, certificate chain
 * and revocation status `verify.ts` has already checked (parse → verify → validate, as go-sev-guest
 * separates them). Each rule is one small function returning one check (or none when the policy
 * leaves it unconstrained); `validateSnpReport` runs them all, in report order. Pure: no crypto,
 * no clock, no I/O.
 */
import type { Check } from '../types';
import type { SnpPolicy, TcbFloor } from '../policy';
import { toHex } from '../../asn1/encoding';
import { PLATFORM_INFO_BIT, POLICY_BIT, decodeTcb, policyBit } from './report';
import type { SigningKey, SnpProduct, SnpReport, Tcb } from './report';

/** What validation needs besides the report and the policy. */
export interface SnpValidateOptions {
  /** The product (from CPUID or the VCEK), or null when unknown (product checks are skipped). */
  readonly product: SnpProduct | null;
  /** The signing key the report names (`none` skips the signing-key check). */
  readonly keyKind: SigningKey;
  /** The measurement allowlist (the policy's, or the caller's override); empty = unconstrained. */
  readonly measurements: readonly string[];
  /** How the measurement is named in messages (Azure: "paravisor measurement"). */
  readonly measurementLabel: string;
}

const ok = (id: string, message: string): Check => ({ id, ok: true, message });
const bad = (id: string, message: string): Check => ({ id, ok: false, message });
const hexEq = (a: Uint8Array, hex: string): boolean =>
  toHex(a) === hex.toLowerCase().replace(/^0x/, '');

export function checkDebug(r: SnpReport, sp: SnpPolicy): Check {
  const pol = r.policy;
  return !policyBit(pol, POLICY_BIT.DEBUG) || sp.allowDebug
    ? ok(
        'policy.debug',
        `debug ${policyBit(pol, POLICY_BIT.DEBUG) ? 'allowed by the guest policy (accepted: allowDebug)' : 'disabled'}`,
      )
    : bad(
        'policy.debug',
        `policy.DEBUG: expected 0 (debugging lets the host read guest memory), got 1 (guest policy 0x${pol.toString(16)})`,
      );
}

export function checkSmt(r: SnpReport, sp: SnpPolicy): Check {
  const smtOn = ((r.platformInfo >> BigInt(PLATFORM_INFO_BIT.SMT_EN)) & 1n) === 1n;
  return !smtOn || sp.allowSmt
    ? ok('policy.smt', `SMT ${smtOn ? 'enabled (allowed)' : 'disabled'}`)
    : bad('policy.smt', 'platform_info.SMT_EN: expected 0 (policy forbids SMT), got 1');
}

export function checkMigrationAgent(r: SnpReport, sp: SnpPolicy): Check {
  const ma = policyBit(r.policy, POLICY_BIT.MIGRATE_MA);
  return !ma || sp.allowMigrationAgent
    ? ok('policy.migration_agent', `migration agent ${ma ? 'allowed (accepted)' : 'not allowed'}`)
    : bad('policy.migration_agent', 'policy.MIGRATE_MA: expected 0, got 1');
}

export function checkSingleSocket(r: SnpReport, sp: SnpPolicy): Check {
  const ss = policyBit(r.policy, POLICY_BIT.SINGLE_SOCKET);
  return ss || !sp.requireSingleSocket
    ? ok('policy.single_socket', `single socket ${ss ? 'required by the guest' : 'not required'}`)
    : bad('policy.single_socket', 'policy.SINGLE_SOCKET: expected 1, got 0');
}

/**
 * Guest policy bits 63:26 are reserved and must be zero (SEV-SNP ABI spec, Guest Policy
 * Structure; bits 21..25 are CXL_ALLOW, MEM_AES_256_XTS, RAPL_DIS, CIPHERTEXT_HIDING,
 * PAGE_SWAP_DISABLE).
 */
export function checkReservedPolicyBits(r: SnpReport): Check {
  const pol = r.policy;
  const reserved = pol >> BigInt(POLICY_BIT.PAGE_SWAP_DISABLE + 1);
  return reserved === 0n
    ? ok('policy.reserved', 'guest policy reserved bits 63:26 are zero')
    : bad(
        'policy.reserved',
        `policy[63:26]: expected 0, got 0x${reserved.toString(16)} (guest policy 0x${pol.toString(16)})`,
      );
}

/**
 * The guest policy's ABI_MAJOR.ABI_MINOR is the minimum firmware ABI the guest accepts: the
 * running firmware (v3+ reports carry it) must be at least that. None for v2 reports.
 */
export function checkAbi(r: SnpReport): Check | null {
  if (r.version < 3) return null;
  const abiMajor = Number((r.policy >> 8n) & 0xffn);
  const abiMinor = Number(r.policy & 0xffn);
  const fw = r.currentVersion;
  const okAbi = fw.major > abiMajor || (fw.major === abiMajor && fw.minor >= abiMinor);
  return okAbi
    ? ok(
        'policy.abi',
        `firmware ${fw.major}.${fw.minor} >= the guest policy's minimum ABI ${abiMajor}.${abiMinor}`,
      )
    : bad(
        'policy.abi',
        `current firmware: expected >= ${abiMajor}.${abiMinor} (guest policy ABI), got ${fw.major}.${fw.minor}`,
      );
}

export function checkVmpl(r: SnpReport, sp: SnpPolicy): Check {
  return sp.vmpl === null || r.vmpl === sp.vmpl
    ? ok('policy.vmpl', `VMPL ${r.vmpl}${sp.vmpl === null ? ' (not constrained)' : ''}`)
    : bad('policy.vmpl', `vmpl: expected ${sp.vmpl}, got ${r.vmpl}`);
}

export function checkGuestSvn(r: SnpReport, sp: SnpPolicy): Check {
  return r.guestSvn >= sp.minGuestSvn
    ? ok('policy.guest_svn', `guest SVN ${r.guestSvn} >= ${sp.minGuestSvn}`)
    : bad('policy.guest_svn', `guest_svn: expected >= ${sp.minGuestSvn}, got ${r.guestSvn}`);
}

const TCB_KEYS = ['bl', 'tee', 'snp', 'microcode', 'fmc'] as const;

/** TCB components below the floor, as messages. */
function tcbBelow(name: string, t: Tcb, floor: TcbFloor): string[] {
  const out: string[] = [];
  for (const k of TCB_KEYS) {
    const min = floor[k];
    const v = t[k];
    if (min !== undefined && v !== undefined && v < min)
      out.push(`${name}.${k}: expected >= ${min}, got ${v}`);
  }
  return out;
}

/**
 * The floor is `minTcb` and the product's default (AMD bulletins), the higher per component; all
 * four TCBs (reported, current, committed, launch) must meet it. None when the product is unknown.
 */
export function checkMinTcb(r: SnpReport, sp: SnpPolicy, product: SnpProduct | null): Check | null {
  if (product === null) return null;
  const floor: Record<string, number> = { ...sp.minTcb };
  for (const [k, v] of Object.entries(sp.minTcbByProduct?.[product] ?? {}))
    floor[k] = Math.max(floor[k] ?? 0, v);
  const below = [
    ...tcbBelow('reported_tcb', decodeTcb(r.reportedTcb, product), floor),
    ...tcbBelow('current_tcb', decodeTcb(r.currentTcb, product), floor),
    ...tcbBelow('committed_tcb', decodeTcb(r.committedTcb, product), floor),
    ...tcbBelow('launch_tcb', decodeTcb(r.launchTcb, product), floor),
  ];
  return below.length === 0
    ? ok(
        'policy.min_tcb',
        Object.keys(floor).length === 0
          ? 'no minimum TCB configured'
          : `all TCBs meet ${JSON.stringify(floor)} (${product})`,
      )
    : bad('policy.min_tcb', below.join('; '));
}

export function checkProvisionalFirmware(r: SnpReport, sp: SnpPolicy): Check {
  const cv = r.currentVersion;
  const mv = r.committedVersion;
  const provisional =
    r.currentTcb !== r.committedTcb ||
    cv.major !== mv.major ||
    cv.minor !== mv.minor ||
    cv.build !== mv.build;
  return !provisional || sp.permitProvisionalFirmware
    ? ok(
        'policy.provisional_firmware',
        provisional
          ? 'provisional firmware (accepted: permitProvisionalFirmware)'
          : 'committed TCB equals current TCB',
      )
    : bad(
        'policy.provisional_firmware',
        `committed_tcb: expected current_tcb 0x${r.currentTcb.toString(16)} / ${cv.major}.${cv.minor}.${cv.build}, got 0x${r.committedTcb.toString(16)} / ${mv.major}.${mv.minor}.${mv.build} (provisional firmware)`,
      );
}

export function checkMinFirmware(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.minFirmware === null) return null;
  const cv = r.currentVersion;
  const [maj, min] = sp.minFirmware.split('.').map(Number) as [number, number | undefined];
  const good = cv.major > maj || (cv.major === maj && cv.minor >= (min ?? 0));
  return good
    ? ok('policy.min_firmware', `firmware ${cv.major}.${cv.minor} >= ${sp.minFirmware}`)
    : bad(
        'policy.min_firmware',
        `current firmware: expected >= ${sp.minFirmware}, got ${cv.major}.${cv.minor}`,
      );
}

export function checkMeasurement(r: SnpReport, allowed: readonly string[], mLabel: string): Check {
  return allowed.length === 0
    ? ok(
        'measurement',
        `${mLabel} ${toHex(r.measurement)} (not constrained: no allowlist configured)`,
      )
    : allowed.some((m) => hexEq(r.measurement, m))
      ? ok('measurement', `${mLabel} ${toHex(r.measurement)} is allowed`)
      : bad(
          'measurement',
          `${mLabel}: expected one of ${allowed.map((m) => m.slice(0, 16) + '…').join(', ')}, got ${toHex(r.measurement)}`,
        );
}

export function checkHostData(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.hostData === null) return null;
  return hexEq(r.hostData, sp.hostData)
    ? ok('policy.host_data', 'HOST_DATA as expected')
    : bad('policy.host_data', `host_data: expected ${sp.hostData}, got ${toHex(r.hostData)}`);
}

export function checkIdKeyDigest(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.idKeyDigests.length === 0) return null;
  return sp.idKeyDigests.some((d) => hexEq(r.idKeyDigest, d))
    ? ok('policy.id_key_digest', 'ID key digest allowed')
    : bad(
        'policy.id_key_digest',
        `id_key_digest: expected one of ${sp.idKeyDigests.length} allowed, got ${toHex(r.idKeyDigest)}`,
      );
}

export function checkAuthorKeyDigest(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.authorKeyDigests.length === 0) return null;
  const good = r.authorKeyEn && sp.authorKeyDigests.some((d) => hexEq(r.authorKeyDigest, d));
  return good
    ? ok('policy.author_key_digest', 'author key digest allowed')
    : bad(
        'policy.author_key_digest',
        `author_key_digest: expected one of ${sp.authorKeyDigests.length} allowed (AUTHOR_KEY_EN=1), got ${r.authorKeyEn ? toHex(r.authorKeyDigest) : 'AUTHOR_KEY_EN=0'}`,
      );
}

export function checkFamilyId(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.familyId === null) return null;
  return hexEq(r.familyId, sp.familyId)
    ? ok('policy.family_id', 'FAMILY_ID as expected')
    : bad('policy.family_id', `family_id: expected ${sp.familyId}, got ${toHex(r.familyId)}`);
}

export function checkImageId(r: SnpReport, sp: SnpPolicy): Check | null {
  if (sp.imageId === null) return null;
  return hexEq(r.imageId, sp.imageId)
    ? ok('policy.image_id', 'IMAGE_ID as expected')
    : bad('policy.image_id', `image_id: expected ${sp.imageId}, got ${toHex(r.imageId)}`);
}

export function checkSigningKey(sp: SnpPolicy, keyKind: SigningKey): Check | null {
  if (keyKind === 'none') return null;
  return sp.signingKeys.includes(keyKind)
    ? ok('policy.signing_key', `${keyKind} accepted`)
    : bad(
        'policy.signing_key',
        `signing_key: expected one of ${sp.signingKeys.join(', ')}, got ${keyKind}`,
      );
}

export function checkProduct(sp: SnpPolicy, product: SnpProduct | null): Check | null {
  if (product === null) return null;
  return sp.products.includes(product)
    ? ok('policy.product', `${product} accepted`)
    : bad('policy.product', `product: expected one of ${sp.products.join(', ')}, got ${product}`);
}

/** Every policy check on a verified report, in a fixed order (checks that do not apply omitted). */
export function validateSnpReport(r: SnpReport, sp: SnpPolicy, o: SnpValidateOptions): Check[] {
  return [
    checkDebug(r, sp),
    checkSmt(r, sp),
    checkMigrationAgent(r, sp),
    checkSingleSocket(r, sp),
    checkReservedPolicyBits(r),
    checkAbi(r),
    checkVmpl(r, sp),
    checkGuestSvn(r, sp),
    checkMinTcb(r, sp, o.product),
    checkProvisionalFirmware(r, sp),
    checkMinFirmware(r, sp),
    checkMeasurement(r, o.measurements, o.measurementLabel),
    checkHostData(r, sp),
    checkIdKeyDigest(r, sp),
    checkAuthorKeyDigest(r, sp),
    checkFamilyId(r, sp),
    checkImageId(r, sp),
    checkSigningKey(sp, o.keyKind),
    checkProduct(sp, o.product),
  ].filter((c): c is Check => c !== null);
}
