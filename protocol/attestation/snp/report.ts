/**
 * AMD SEV-SNP ATTESTATION_REPORT parser (SEV-SNP Firmware ABI Specification, rev. 1.55+,
 * Table "ATTESTATION_REPORT Structure"; versions 2, 3 and 5). 1184 bytes, little-endian.
 * Parse only: no signature or policy decision is taken here (see verify.ts / validate.ts).
 * Throws only ProtocolError (codes truncated, bad_length, unsupported_version, reserved_nonzero,
 * malformed).
 */
import { ProtocolError } from '../../errors';
import { isAllZero, toHex } from '../../asn1/encoding';

/** Report size in bytes (0x4A0). */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes [0, SIGNED_LEN). */
export const SNP_SIGNED_LEN = 0x2a0;

/** Field offsets (ABI spec Table 23 / 24). */
export const OFF = {
  VERSION: 0x00,
  GUEST_SVN: 0x04,
  POLICY: 0x08,
  FAMILY_ID: 0x10,
  IMAGE_ID: 0x20,
  VMPL: 0x30,
  SIGNATURE_ALGO: 0x34,
  CURRENT_TCB: 0x38,
  PLATFORM_INFO: 0x40,
  FLAGS: 0x48, // bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY
  RESERVED_4C: 0x4c,
  REPORT_DATA: 0x50,
  MEASUREMENT: 0x90,
  HOST_DATA: 0xc0,
  ID_KEY_DIGEST: 0xe0,
  AUTHOR_KEY_DIGEST: 0x110,
  REPORT_ID: 0x140,
  REPORT_ID_MA: 0x160,
  REPORTED_TCB: 0x180,
  CPUID_FAM_ID: 0x188, // v3+
  CPUID_MOD_ID: 0x189,
  CPUID_STEP: 0x18a,
  RESERVED_18B: 0x18b, // .. 0x19F
  CHIP_ID: 0x1a0,
  COMMITTED_TCB: 0x1e0,
  CURRENT_BUILD: 0x1e8,
  CURRENT_MINOR: 0x1e9,
  CURRENT_MAJOR: 0x1ea,
  RESERVED_1EB: 0x1eb,
  COMMITTED_BUILD: 0x1ec,
  COMMITTED_MINOR: 0x1ed,
  COMMITTED_MAJOR: 0x1ee,
  RESERVED_1EF: 0x1ef,
  LAUNCH_TCB: 0x1f0,
  LAUNCH_MIT_VECTOR: 0x1f8, // v5+
  CURRENT_MIT_VECTOR: 0x200, // v5+
  RESERVED_TAIL_V5: 0x208, // .. 0x29F
  RESERVED_TAIL_V2: 0x1f8, // .. 0x29F (v2, v3)
  SIGNATURE: 0x2a0, // R[72] ‖ S[72] little-endian, then 368 reserved bytes
  SIG_R: 0x2a0,
  SIG_S: 0x2e8,
  SIG_RESERVED: 0x330,
} as const;

/** Supported report versions. */
export const SNP_VERSIONS: readonly number[] = [2, 3, 5];

/** Guest policy bits (ABI spec "Guest Policy Structure"). */
export const POLICY_BIT = {
  SMT: 16,
  RESERVED_1: 17, // must be 1
  MIGRATE_MA: 18,
  DEBUG: 19,
  SINGLE_SOCKET: 20,
  CXL_ALLOW: 21,
  MEM_AES_256_XTS: 22,
  RAPL_DIS: 23,
  CIPHERTEXT_HIDING: 24,
  PAGE_SWAP_DISABLE: 25,
} as const;

/** PLATFORM_INFO bits. */
export const PLATFORM_INFO_BIT = {
  SMT_EN: 0,
  TSME_EN: 1,
  ECC_EN: 2,
  RAPL_DIS: 3,
  CIPHERTEXT_HIDING_EN: 4,
  ALIAS_CHECK_COMPLETE: 5,
} as const;

export type SigningKey = 'VCEK' | 'VLEK' | 'none';
export type SnpProduct = 'milan' | 'genoa' | 'turin';

/** A decoded TCB_VERSION. `fmc` exists on Turin only. */
export interface Tcb {
  readonly raw: bigint;
  readonly bl: number;
  readonly tee: number;
  readonly snp: number;
  readonly microcode: number;
  readonly fmc?: number;
}

export interface SnpReport {
  readonly raw: Uint8Array;
  readonly version: number;
  readonly guestSvn: number;
  readonly policy: bigint;
  readonly familyId: Uint8Array;
  readonly imageId: Uint8Array;
  readonly vmpl: number;
  readonly signatureAlgo: number;
  readonly currentTcb: bigint;
  readonly platformInfo: bigint;
  readonly authorKeyEn: boolean;
  readonly maskChipKey: boolean;
  readonly signingKey: SigningKey;
  readonly signingKeyBits: number;
  readonly reportData: Uint8Array;
  readonly measurement: Uint8Array;
  readonly hostData: Uint8Array;
  readonly idKeyDigest: Uint8Array;
  readonly authorKeyDigest: Uint8Array;
  readonly reportId: Uint8Array;
  readonly reportIdMa: Uint8Array;
  readonly reportedTcb: bigint;
  /** CPUID family/model/stepping (v3+); null for v2 reports. */
  readonly cpuid: {
    readonly family: number;
    readonly model: number;
    readonly stepping: number;
  } | null;
  readonly chipId: Uint8Array;
  readonly committedTcb: bigint;
  readonly currentVersion: {
    readonly major: number;
    readonly minor: number;
    readonly build: number;
  };
  readonly committedVersion: {
    readonly major: number;
    readonly minor: number;
    readonly build: number;
  };
  readonly launchTcb: bigint;
  /** v5+ only. */
  readonly launchMitVector: bigint | null;
  readonly currentMitVector: bigint | null;
  /** The bytes the signature covers. */
  readonly signed: Uint8Array;
  /** ECDSA P-384 signature as raw big-endian r ‖ s (96 bytes). */
  readonly signature: Uint8Array;
}

function perr(
  code: 'truncated' | 'bad_length' | 'unsupported_version' | 'reserved_nonzero' | 'malformed',
  field: string,
  expected: string,
  actual: string,
): never {
  throw new ProtocolError(code, `${field}: expected ${expected}, got ${actual}`, field);
}

const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
const u64 = (b: Uint8Array, o: number): bigint =>
  BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);

function reserved(b: Uint8Array, from: number, to: number, field: string): void {
  const r = b.subarray(from, to);
  if (!isAllZero(r))
    perr(
      'reserved_nonzero',
      field,
      `zero bytes at 0x${from.toString(16)}..0x${(to - 1).toString(16)}`,
      toHex(r).slice(0, 32),
    );
}

/** Little-endian 72-byte signature component → 48-byte big-endian (upper 24 bytes must be zero). */
function sigComponent(b: Uint8Array, off: number, field: string): Uint8Array {
  const le = b.subarray(off, off + 72);
  if (!isAllZero(le.subarray(48)))
    perr('reserved_nonzero', field, 'zero padding above 48 bytes', toHex(le.subarray(48, 56)));
  const be = new Uint8Array(48);
  for (let i = 0; i < 48; i++) be[i] = le[47 - i]!;
  return be;
}

/** Parses an ATTESTATION_REPORT. `input` must be exactly 1184 bytes. */
export function parseSnpReport(input: Uint8Array): SnpReport {
  if (input.length < SNP_REPORT_SIZE)
    perr('truncated', 'snp_report', `${SNP_REPORT_SIZE} bytes`, `${input.length}`);
  if (input.length > SNP_REPORT_SIZE)
    perr('bad_length', 'snp_report', `${SNP_REPORT_SIZE} bytes`, `${input.length}`);
  const b = input;
  const version = u32(b, OFF.VERSION);
  if (!SNP_VERSIONS.includes(version))
    perr('unsupported_version', 'snp_report.version', SNP_VERSIONS.join(', '), `${version}`);
  const policy = u64(b, OFF.POLICY);
  if (((policy >> BigInt(POLICY_BIT.RESERVED_1)) & 1n) !== 1n) {
    perr(
      'malformed',
      'snp_report.policy',
      'bit 17 (reserved) set to 1',
      `0x${policy.toString(16)}`,
    );
  }
  const flags = u32(b, OFF.FLAGS);
  if (flags >>> 5 !== 0)
    perr('reserved_nonzero', 'snp_report.flags', 'bits 31:5 zero', `0x${flags.toString(16)}`);
  const signingKeyBits = (flags >> 2) & 7;
  const signingKey: SigningKey =
    signingKeyBits === 0
      ? 'VCEK'
      : signingKeyBits === 1
        ? 'VLEK'
        : signingKeyBits === 7
          ? 'none'
          : perr(
              'malformed',
              'snp_report.signing_key',
              '0 (VCEK), 1 (VLEK) or 7 (none)',
              `${signingKeyBits}`,
            );
  reserved(b, OFF.RESERVED_4C, OFF.REPORT_DATA, 'snp_report.reserved_4c');
  const vmpl = u32(b, OFF.VMPL);
  if (vmpl > 3) perr('malformed', 'snp_report.vmpl', '0..3', `${vmpl}`);
  let cpuid: SnpReport['cpuid'] = null;
  if (version >= 3) {
    cpuid = {
      family: b[OFF.CPUID_FAM_ID]!,
      model: b[OFF.CPUID_MOD_ID]!,
      stepping: b[OFF.CPUID_STEP]!,
    };
    reserved(b, OFF.RESERVED_18B, OFF.CHIP_ID, 'snp_report.reserved_18b');
  } else {
    reserved(b, OFF.CPUID_FAM_ID, OFF.CHIP_ID, 'snp_report.reserved_188');
  }
  reserved(b, OFF.RESERVED_1EB, OFF.RESERVED_1EB + 1, 'snp_report.reserved_1eb');
  reserved(b, OFF.RESERVED_1EF, OFF.RESERVED_1EF + 1, 'snp_report.reserved_1ef');
  let launchMitVector: bigint | null = null;
  let currentMitVector: bigint | null = null;
  if (version >= 5) {
    launchMitVector = u64(b, OFF.LAUNCH_MIT_VECTOR);
    currentMitVector = u64(b, OFF.CURRENT_MIT_VECTOR);
    reserved(b, OFF.RESERVED_TAIL_V5, OFF.SIGNATURE, 'snp_report.reserved_208');
  } else {
    reserved(b, OFF.RESERVED_TAIL_V2, OFF.SIGNATURE, 'snp_report.reserved_1f8');
  }
  const r = sigComponent(b, OFF.SIG_R, 'snp_report.signature.r');
  const s = sigComponent(b, OFF.SIG_S, 'snp_report.signature.s');
  reserved(b, OFF.SIG_RESERVED, SNP_REPORT_SIZE, 'snp_report.signature.reserved');
  const signature = new Uint8Array(96);
  signature.set(r, 0);
  signature.set(s, 48);
  const slice = (o: number, n: number): Uint8Array => b.subarray(o, o + n);
  return {
    raw: b,
    version,
    guestSvn: u32(b, OFF.GUEST_SVN),
    policy,
    familyId: slice(OFF.FAMILY_ID, 16),
    imageId: slice(OFF.IMAGE_ID, 16),
    vmpl,
    signatureAlgo: u32(b, OFF.SIGNATURE_ALGO),
    currentTcb: u64(b, OFF.CURRENT_TCB),
    platformInfo: u64(b, OFF.PLATFORM_INFO),
    authorKeyEn: (flags & 1) !== 0,
    maskChipKey: (flags & 2) !== 0,
    signingKey,
    signingKeyBits,
    reportData: slice(OFF.REPORT_DATA, 64),
    measurement: slice(OFF.MEASUREMENT, 48),
    hostData: slice(OFF.HOST_DATA, 32),
    idKeyDigest: slice(OFF.ID_KEY_DIGEST, 48),
    authorKeyDigest: slice(OFF.AUTHOR_KEY_DIGEST, 48),
    reportId: slice(OFF.REPORT_ID, 32),
    reportIdMa: slice(OFF.REPORT_ID_MA, 32),
    reportedTcb: u64(b, OFF.REPORTED_TCB),
    cpuid,
    chipId: slice(OFF.CHIP_ID, 64),
    committedTcb: u64(b, OFF.COMMITTED_TCB),
    currentVersion: {
      major: b[OFF.CURRENT_MAJOR]!,
      minor: b[OFF.CURRENT_MINOR]!,
      build: b[OFF.CURRENT_BUILD]!,
    },
    committedVersion: {
      major: b[OFF.COMMITTED_MAJOR]!,
      minor: b[OFF.COMMITTED_MINOR]!,
      build: b[OFF.COMMITTED_BUILD]!,
    },
    launchTcb: u64(b, OFF.LAUNCH_TCB),
    launchMitVector,
    currentMitVector,
    signed: slice(0, SNP_SIGNED_LEN),
    signature,
  };
}

export const policyBit = (policy: bigint, bit: number): boolean =>
  ((policy >> BigInt(bit)) & 1n) === 1n;

/**
 * The product from the report's CPUID fields (v3+): family 0x19 models 0x00–0x0F Milan,
 * 0x10–0x1F and 0xA0–0xAF Genoa (incl. Bergamo/Siena); family 0x1A models 0x00–0x1F Turin.
 * Returns null for v2 reports (no CPUID) and unknown families (then the certificate decides).
 */
export function productFromCpuid(r: SnpReport): SnpProduct | null {
  if (r.cpuid === null) return null;
  const { family, model } = r.cpuid;
  if (family === 0x19 && model <= 0x0f) return 'milan';
  if (family === 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)))
    return 'genoa';
  if (family === 0x1a && model <= 0x1f) return 'turin';
  return null;
}

/**
 * Decodes a TCB_VERSION for a product. Milan/Genoa: [0] BL, [1] TEE, [2..5] reserved, [6] SNP,
 * [7] microcode. Turin: [0] FMC, [1] BL, [2] TEE, [3] SNP, [4..6] reserved, [7] microcode.
 */
export function decodeTcb(raw: bigint, product: SnpProduct): Tcb {
  const byte = (i: number): number => Number((raw >> BigInt(8 * i)) & 0xffn);
  if (product === 'turin')
    return { raw, fmc: byte(0), bl: byte(1), tee: byte(2), snp: byte(3), microcode: byte(7) };
  return { raw, bl: byte(0), tee: byte(1), snp: byte(6), microcode: byte(7) };
}

/** Encodes a TCB for a product (the inverse of decodeTcb; reserved bytes zero). */
export function encodeTcb(t: Omit<Tcb, 'raw'>, product: SnpProduct): bigint {
  const bytes = new Array<number>(8).fill(0);
  if (product === 'turin') {
    bytes[0] = t.fmc ?? 0;
    bytes[1] = t.bl;
    bytes[2] = t.tee;
    bytes[3] = t.snp;
  } else {
    bytes[0] = t.bl;
    bytes[1] = t.tee;
    bytes[6] = t.snp;
  }
  bytes[7] = t.microcode;
  return bytes.reduce((acc, v, i) => acc | (BigInt(v & 0xff) << BigInt(8 * i)), 0n);
}

export function formatTcb(t: Tcb): string {
  const parts = [`bl=${t.bl}`, `tee=${t.tee}`, `snp=${t.snp}`, `ucode=${t.microcode}`];
  if (t.fmc !== undefined) parts.unshift(`fmc=${t.fmc}`);
  return `0x${t.raw.toString(16).padStart(16, '0')} (${parts.join(' ')})`;
}
