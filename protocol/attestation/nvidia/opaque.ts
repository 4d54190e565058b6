/**
 * NVIDIA opaque data in the SPDM MEASUREMENTS response: a list of TLVs {Type u16 LE, Size u16 LE,
 * Value}. Type numbers follow nvtrust local_gpu_verifier `OpaqueDataConst`.
 */
import { fail } from '../../errors';
import { asciiOrNull, toHex } from './bytes';

export const OPAQUE_TYPES: Readonly<Record<number, string>> = {
  1: 'CERT_ISSUER_NAME',
  2: 'CERT_AUTHORITY_KEY_IDENTIFIER',
  3: 'DRIVER_VERSION',
  4: 'GPU_INFO',
  5: 'SKU',
  6: 'VBIOS_VERSION',
  7: 'MANUFACTURER_ID',
  8: 'TAMPER_DETECTION',
  9: 'SMC',
  10: 'VPR',
  11: 'NVDEC0_STATUS',
  12: 'MSRSCNT',
  13: 'CPRINFO',
  14: 'BOARD_ID',
  15: 'CHIP_SKU',
  16: 'CHIP_SKU_MOD',
  17: 'PROJECT',
  18: 'PROJECT_SKU',
  19: 'PROJECT_SKU_MOD',
  20: 'FWID',
  21: 'PROTECTED_PCIE_STATUS',
  22: 'SWITCH_PDI',
  23: 'FLOORSWEPT_PORTS',
  24: 'POSITION_ID',
  25: 'LOCK_SWITCH_STATUS',
  32: 'GPU_LINK_CONN',
  33: 'SYS_ENABLE_STATUS',
  34: 'OPAQUE_DATA_VERSION',
  35: 'CHIP_INFO',
  36: 'FEATURE_FLAG',
  255: 'INVALID',
};

/** Opaque fields rendered as text (NUL-terminated ASCII); the rest are shown as hex. */
const TEXT_TYPES = new Set([3, 15, 16, 17, 18, 19, 35]);

/** NVDEC0_STATUS / PROTECTED_PCIE_STATUS byte values. */
export const STATUS_ENABLED = 0xaa;
export const STATUS_DISABLED = 0x55;
export const FWID_LEN = 48;
export const SWITCH_PDI_LEN = 8;

/** FEATURE_FLAG values (u16 LE). */
export const FEATURE_SPT = 0;
export const FEATURE_MPT = 1;
export const FEATURE_PPCIE = 2;

export interface NvidiaOpaque {
  readonly driverVersion?: string;
  readonly vbiosVersion?: string;
  readonly chipSku?: string;
  readonly chipSkuMod?: string;
  readonly project?: string;
  readonly projectSku?: string;
  readonly projectSkuMod?: string;
  readonly chipInfo?: string;
  readonly boardId?: string;
  readonly gpuInfo?: string;
  readonly nvdec0Status?: number;
  readonly protectedPcieStatus?: number;
  readonly featureFlag?: number;
  readonly fwid?: Uint8Array;
  readonly msrscnt?: readonly number[];
  readonly switchPdis?: readonly string[];
  /** Every field by name (unknown types by decimal number), text or lowercase hex. */
  readonly display: Readonly<Record<string, string>>;
}

export interface OpaqueField {
  readonly type: number;
  readonly value: Uint8Array;
}

/** nvtrust `format_vbios_version`: 8 little-endian bytes → "96.00.9F.00.01". */
export function formatVbiosVersion(v: Uint8Array): string {
  const h = toHex(Uint8Array.from(v).reverse()).toUpperCase();
  const t = h.slice(8, 16) + h.slice(6, 8);
  const pairs: string[] = [];
  for (let i = 0; i < t.length; i += 2) pairs.push(t.slice(i, i + 2));
  return pairs.join('.');
}

function statusByte(v: Uint8Array, field: string): number {
  if (v.length !== 1) fail('bad_length', field, 1, v.length);
  const b = v[0]!;
  if (b !== STATUS_ENABLED && b !== STATUS_DISABLED)
    fail('malformed', field, '0xaa or 0x55', `0x${b.toString(16)}`);
  return b;
}

export function decodeOpaque(buf: Uint8Array): OpaqueField[] & { decoded: NvidiaOpaque } {
  const fields: OpaqueField[] = [];
  const seen = new Set<number>();
  let off = 0;
  while (off < buf.length) {
    const f = `response.OpaqueData[${fields.length}]`;
    if (buf.length - off < 4) fail('truncated', `${f}.header`, '4 bytes', buf.length - off);
    const type = buf[off]! | (buf[off + 1]! << 8);
    const size = buf[off + 2]! | (buf[off + 3]! << 8);
    off += 4;
    if (size > buf.length - off) fail('bad_length', `${f}.Size`, `<= ${buf.length - off}`, size);
    if (seen.has(type)) fail('malformed', `${f}.Type`, 'each opaque type at most once', type);
    seen.add(type);
    fields.push({ type, value: buf.slice(off, off + size) });
    off += size;
  }
  const display: Record<string, string> = {};
  const d: {
    -readonly [K in keyof NvidiaOpaque]: NvidiaOpaque[K];
  } = { display };
  for (const { type, value } of fields) {
    const name = OPAQUE_TYPES[type] ?? String(type);
    const field = `opaque.${name}`;
    let text: string;
    if (type === 6) {
      // GPU: 8 binary bytes; NVSwitch: ASCII already dotted.
      const ascii = value.length !== 8 ? asciiOrNull(value) : null;
      if (ascii !== null) text = ascii;
      else if (value.length === 8) text = formatVbiosVersion(value);
      else return fail('malformed', field, '8 bytes or ASCII', `${value.length} bytes`);
      d.vbiosVersion = text;
    } else if (TEXT_TYPES.has(type)) {
      const ascii = asciiOrNull(value);
      if (ascii === null) return fail('malformed', field, 'NUL-terminated ASCII', toHex(value));
      text = ascii;
    } else {
      text = toHex(value);
    }
    display[name] = text;
    switch (type) {
      case 3:
        d.driverVersion = text;
        break;
      case 4:
        d.gpuInfo = text;
        break;
      case 11:
        d.nvdec0Status = statusByte(value, field);
        break;
      case 12: {
        if (value.length % 4 !== 0) fail('bad_length', field, 'a multiple of 4', value.length);
        const counts: number[] = [];
        for (let i = 0; i < value.length; i += 4) {
          counts.push(
            (value[i]! | (value[i + 1]! << 8) | (value[i + 2]! << 16) | (value[i + 3]! << 24)) >>>
              0,
          );
        }
        d.msrscnt = counts;
        break;
      }
      case 14:
        d.boardId = text;
        break;
      case 15:
        d.chipSku = text;
        break;
      case 16:
        d.chipSkuMod = text;
        break;
      case 17:
        d.project = text;
        break;
      case 18:
        d.projectSku = text;
        break;
      case 19:
        d.projectSkuMod = text;
        break;
      case 20:
        if (value.length !== FWID_LEN) fail('bad_length', field, FWID_LEN, value.length);
        d.fwid = value;
        break;
      case 21:
        d.protectedPcieStatus = statusByte(value, field);
        break;
      case 22: {
        if (value.length % SWITCH_PDI_LEN !== 0)
          fail('bad_length', field, `a multiple of ${SWITCH_PDI_LEN}`, value.length);
        const pdis: string[] = [];
        for (let i = 0; i < value.length; i += SWITCH_PDI_LEN)
          pdis.push(toHex(value.subarray(i, i + SWITCH_PDI_LEN)));
        d.switchPdis = pdis;
        break;
      }
      case 35:
        d.chipInfo = text;
        break;
      case 36:
        if (value.length !== 2 && value.length !== 4)
          fail('bad_length', field, '2 or 4', value.length);
        d.featureFlag = value[0]! | (value[1]! << 8);
        break;
      default:
        break;
    }
  }
  return Object.assign(fields, { decoded: d as NvidiaOpaque });
}
