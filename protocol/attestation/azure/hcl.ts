/**
 * Azure confidential VM "HCL report" (vTPM NV index 0x01400001): the paravisor (HCL) asks the CPU
 * for a hardware report whose REPORT_DATA[0:32] = SHA-256(var_data), where var_data is the
 * "runtime claims" JSON carrying the vTPM attestation key (HCLAkPub). Layout (little-endian):
 *
 *   0x000 "HCLA" · 0x004 version (1, 2) · 0x008 report_size · 0x00C request_type · 0x010 status
 *   0x014 reserved[12]
 *   0x020 hardware report: SNP ATTESTATION_REPORT (1184) or TDREPORT (1024, zero-padded to 1184)
 *   0x4C0 runtime data header: data_size · version · report_type (2 SNP, 4 TDX) · hash_type (1 SHA-256) · var_data_size
 *   0x4D4 var_data[var_data_size] (JSON; the NV index pads the blob with zeros)
 *
 * Throws only ProtocolError.
 */
import { ProtocolError } from '../../errors';
import type { RsaPublicKey } from '../../crypto/provider';
import { fromBase64url, isAllZero, toHex, utf8Decode } from '../../encoding';

export const HCL = {
  MAGIC: 0x414c4348, // "HCLA" little-endian
  OFF_VERSION: 0x04,
  OFF_REPORT_SIZE: 0x08,
  OFF_REQUEST_TYPE: 0x0c,
  OFF_STATUS: 0x10,
  OFF_RESERVED: 0x14,
  OFF_HW_REPORT: 0x20,
  HW_REPORT_SLOT: 1184,
  OFF_RUNTIME_HEADER: 0x4c0,
  RUNTIME_HEADER_SIZE: 20,
  OFF_VAR_DATA: 0x4d4,
  REPORT_TYPE_SNP: 2,
  REPORT_TYPE_TDX: 4,
  HASH_TYPE_SHA256: 1,
  TDREPORT_SIZE: 1024,
  /** Upper bound on var_data (the NV index is 2600 bytes here; allow growth). */
  MAX_VAR_DATA: 16384,
} as const;

export interface RuntimeClaims {
  /** The parsed JSON (untrusted until the hardware report's REPORT_DATA binds it). */
  readonly json: { readonly [k: string]: unknown };
  /** HCLAkPub: the vTPM attestation key (signs TPM quotes). */
  readonly akPub: RsaPublicKey | undefined;
  /** `user-data` (hex string in the JSON), if present. */
  readonly userData: string | undefined;
  readonly vmConfiguration: { readonly [k: string]: unknown } | undefined;
}

export interface HclReport {
  readonly raw: Uint8Array;
  readonly version: number;
  readonly reportSize: number;
  readonly requestType: number;
  readonly status: number;
  readonly reportType: number;
  readonly hashType: number;
  /** The hardware report bytes: 1184 (SNP) or 1024 (TDX). */
  readonly hwReport: Uint8Array;
  /** var_data exactly as hashed: var_data_size bytes, trailing NULs trimmed. */
  readonly varData: Uint8Array;
  readonly claims: RuntimeClaims;
}

function perr(
  code:
    | 'truncated'
    | 'bad_magic'
    | 'unsupported_version'
    | 'bad_length'
    | 'malformed'
    | 'reserved_nonzero',
  field: string,
  expected: string,
  actual: string,
): never {
  throw new ProtocolError(code, `${field}: expected ${expected}, got ${actual}`, field);
}

const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/** Parses the runtime-claims JSON and extracts HCLAkPub. */
export function parseRuntimeClaims(varData: Uint8Array): RuntimeClaims {
  let json: unknown;
  try {
    json = JSON.parse(utf8Decode(varData, 'hcl.var_data'));
  } catch (e) {
    const msg = e instanceof Error ? e.message.slice(0, 80) : 'invalid';
    return perr('malformed', 'hcl.var_data', 'runtime claims JSON', msg);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    perr('malformed', 'hcl.var_data', 'a JSON object', typeof json);
  const obj = json as { [k: string]: unknown };
  let akPub: RsaPublicKey | undefined;
  const keys = obj['keys'];
  if (Array.isArray(keys)) {
    for (const k of keys) {
      if (typeof k !== 'object' || k === null) continue;
      const jwk = k as { [k: string]: unknown };
      if (jwk['kid'] !== 'HCLAkPub') continue;
      if (jwk['kty'] !== 'RSA' || typeof jwk['n'] !== 'string' || typeof jwk['e'] !== 'string') {
        perr(
          'malformed',
          'hcl.var_data.keys.HCLAkPub',
          'an RSA JWK with n and e',
          JSON.stringify(jwk).slice(0, 60),
        );
      }
      akPub = {
        kind: 'rsa',
        n: fromBase64url(jwk['n'] as string, 'HCLAkPub.n'),
        e: fromBase64url(jwk['e'] as string, 'HCLAkPub.e'),
      };
    }
  }
  const ud = obj['user-data'];
  const vc = obj['vm-configuration'];
  return {
    json: obj,
    akPub,
    userData: typeof ud === 'string' ? ud : undefined,
    vmConfiguration:
      typeof vc === 'object' && vc !== null && !Array.isArray(vc)
        ? (vc as { [k: string]: unknown })
        : undefined,
  };
}

export function parseHclReport(b: Uint8Array): HclReport {
  if (b.length < HCL.OFF_VAR_DATA)
    perr('truncated', 'hcl', `at least ${HCL.OFF_VAR_DATA} bytes`, `${b.length}`);
  const magic = u32(b, 0);
  if (magic !== HCL.MAGIC)
    perr('bad_magic', 'hcl.signature', '"HCLA"', `0x${toHex(b.subarray(0, 4))}`);
  const version = u32(b, HCL.OFF_VERSION);
  if (version !== 1 && version !== 2)
    perr('unsupported_version', 'hcl.version', '1 or 2', `${version}`);
  if (!isAllZero(b.subarray(HCL.OFF_RESERVED, HCL.OFF_HW_REPORT)))
    perr(
      'reserved_nonzero',
      'hcl.reserved',
      'zero',
      toHex(b.subarray(HCL.OFF_RESERVED, HCL.OFF_HW_REPORT)),
    );
  const reportSize = u32(b, HCL.OFF_REPORT_SIZE);
  const h = HCL.OFF_RUNTIME_HEADER;
  const dataSize = u32(b, h);
  const rtVersion = u32(b, h + 4);
  const reportType = u32(b, h + 8);
  const hashType = u32(b, h + 12);
  const varSize = u32(b, h + 16);
  if (rtVersion !== 1) perr('unsupported_version', 'hcl.runtime_data.version', '1', `${rtVersion}`);
  if (reportType !== HCL.REPORT_TYPE_SNP && reportType !== HCL.REPORT_TYPE_TDX)
    perr('malformed', 'hcl.runtime_data.report_type', '2 (SNP) or 4 (TDX)', `${reportType}`);
  if (hashType !== HCL.HASH_TYPE_SHA256)
    perr('malformed', 'hcl.runtime_data.hash_type', '1 (SHA-256)', `${hashType}`);
  if (varSize > HCL.MAX_VAR_DATA)
    perr(
      'bad_length',
      'hcl.runtime_data.var_data_size',
      `at most ${HCL.MAX_VAR_DATA}`,
      `${varSize}`,
    );
  if (dataSize !== HCL.RUNTIME_HEADER_SIZE + varSize)
    perr(
      'bad_length',
      'hcl.runtime_data.data_size',
      `${HCL.RUNTIME_HEADER_SIZE + varSize} (header + var_data)`,
      `${dataSize}`,
    );
  if (HCL.OFF_VAR_DATA + varSize > b.length)
    perr(
      'truncated',
      'hcl.var_data',
      `${varSize} bytes`,
      `${b.length - HCL.OFF_VAR_DATA} available`,
    );
  if (reportSize !== HCL.OFF_VAR_DATA + varSize)
    perr('bad_length', 'hcl.report_size', `${HCL.OFF_VAR_DATA + varSize}`, `${reportSize}`);
  if (!isAllZero(b.subarray(HCL.OFF_VAR_DATA + varSize)))
    perr('malformed', 'hcl.padding', 'zero bytes after var_data', 'non-zero bytes');
  let end = HCL.OFF_VAR_DATA + varSize;
  while (end > HCL.OFF_VAR_DATA && b[end - 1] === 0) end--;
  const varData = b.subarray(HCL.OFF_VAR_DATA, end);
  const hwLen = reportType === HCL.REPORT_TYPE_SNP ? HCL.HW_REPORT_SLOT : HCL.TDREPORT_SIZE;
  const hwReport = b.subarray(HCL.OFF_HW_REPORT, HCL.OFF_HW_REPORT + hwLen);
  if (
    reportType === HCL.REPORT_TYPE_TDX &&
    !isAllZero(b.subarray(HCL.OFF_HW_REPORT + hwLen, HCL.OFF_RUNTIME_HEADER))
  ) {
    perr(
      'malformed',
      'hcl.hw_report',
      'zero padding after the 1024-byte TDREPORT',
      'non-zero bytes',
    );
  }
  return {
    raw: b,
    version,
    reportSize,
    requestType: u32(b, HCL.OFF_REQUEST_TYPE),
    status: u32(b, HCL.OFF_STATUS),
    reportType,
    hashType,
    hwReport,
    varData,
    claims: parseRuntimeClaims(varData),
  };
}
