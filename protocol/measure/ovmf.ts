/**
 * OVMF firmware image parsing for launch measurements: the GUIDed footer table at the end of the
 * image and the SEV metadata ("ASEV") it points to.
 *
 * Layout (edk2 OvmfPkg/ResetVector, facts): the image ends with 32 bytes of reset vector; just
 * before them is the footer entry { u16 size; GUID 96b582de-1fb2-45f7-baea-a366c55a082d }, whose
 * size covers the whole table. The table's entries run backwards from there, each one
 * { data…; u16 size; GUID } where size counts data + 18. The SEV metadata entry holds a u32 offset
 * from the end of the image to { "ASEV"; u32 size; u32 version = 1; u32 count; count × { u32 gpa;
 * u32 size; u32 type } }.
 *
 * Pure: no Node or DOM imports. Every malformed field is a ProtocolError naming the field.
 */
import { fail, ProtocolError } from '../errors';

export const FOUR_GIB = 0x1_0000_0000;
export const PAGE_SIZE = 4096;

export const GUID = {
  footer: '96b582de-1fb2-45f7-baea-a366c55a082d',
  sevHashTableRv: '7255371f-3a3b-4b04-927b-1da6efa8d454',
  sevEsResetBlock: '00f771de-1a7e-4fcb-890e-68c77e2fb44e',
  sevMetadata: 'dc886566-984a-4798-a75e-5585a7bf67cc',
  tdxMetadataOffset: 'e47a6535-984a-4798-865e-4685a7bf8ec2',
} as const;

/** SEV metadata section types (edk2 OvmfPkg/ResetVector/X64/OvmfSevMetadata.asm). */
export const SECTION_TYPES = {
  1: 'SNP_SEC_MEMORY',
  2: 'SNP_SECRETS',
  3: 'CPUID',
  4: 'SVSM_CAA',
  0x10: 'SNP_KERNEL_HASHES',
} as const;
export type SectionTypeName = (typeof SECTION_TYPES)[keyof typeof SECTION_TYPES];

export interface SevMetadataSection {
  readonly gpa: number;
  readonly size: number;
  readonly type: SectionTypeName;
}

export interface OvmfImage {
  readonly data: Uint8Array;
  /** GPA of the first byte: the image ends at 4 GiB. */
  readonly gpa: number;
  /** Footer table entries by GUID (lower-case text form); the data without size and GUID. */
  readonly table: ReadonlyMap<string, Uint8Array>;
  /** SEV metadata sections, in image order; empty when the image has no SEV metadata entry. */
  readonly sections: readonly SevMetadataSection[];
}

const ENTRY_HEADER = 18; // u16 size + 16-byte GUID

/** GUID bytes in the little-endian (Microsoft/EFI) layout → canonical lower-case text. */
export function guidFromBytesLe(b: Uint8Array): string {
  const h = (i: number): string => b[i]!.toString(16).padStart(2, '0');
  const idx = [3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15];
  return idx.map((i) => (i < 0 ? '-' : h(i))).join('');
}

/** Canonical GUID text → its 16 bytes in the little-endian (EFI) layout. */
export function guidToBytesLe(s: string): Uint8Array {
  const hex = s.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) fail('malformed', 'guid', 'a GUID', s);
  const be = new Uint8Array(16);
  for (let i = 0; i < 16; i++) be[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Uint8Array.from(order, (i) => be[i]!);
}

function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/**
 * Parses the footer table. Returns null when the image has no footer GUID at its place (not an
 * OVMF image with a GUIDed table); throws on a table that is present but malformed.
 */
export function parseFooterTable(data: Uint8Array): Map<string, Uint8Array> | null {
  const footerAt = data.length - 32 - ENTRY_HEADER;
  if (footerAt < 0) return null;
  if (guidFromBytesLe(data.subarray(footerAt + 2, footerAt + 18)) !== GUID.footer) return null;
  const tableSize = u16(data, footerAt) - ENTRY_HEADER;
  if (tableSize < 0 || tableSize > footerAt) {
    fail('malformed', 'ovmf.footer_table.size', `18..${footerAt + ENTRY_HEADER}`, tableSize + ENTRY_HEADER);
  }
  const table = new Map<string, Uint8Array>();
  let end = footerAt; // exclusive end of the remaining table bytes
  const start = footerAt - tableSize;
  while (end - start >= ENTRY_HEADER) {
    const size = u16(data, end - ENTRY_HEADER);
    const guid = guidFromBytesLe(data.subarray(end - 16, end));
    if (size < ENTRY_HEADER || size > end - start) {
      fail('malformed', `ovmf.footer_table[${guid}].size`, `${ENTRY_HEADER}..${end - start}`, size);
    }
    // A later (lower) duplicate replaces an earlier one, as in the reference parser.
    table.set(guid, data.subarray(end - size, end - ENTRY_HEADER));
    end -= size;
  }
  return table;
}

function parseSevMetadata(data: Uint8Array, entry: Uint8Array): SevMetadataSection[] {
  if (entry.length < 4) fail('malformed', 'ovmf.sev_metadata_entry', '≥ 4 bytes', entry.length);
  const offsetFromEnd = u32(entry, 0);
  const start = data.length - offsetFromEnd;
  if (offsetFromEnd > data.length || start + 16 > data.length) {
    fail('malformed', 'ovmf.sev_metadata.offset', `16..${data.length} from the end`, offsetFromEnd);
  }
  const sig = String.fromCharCode(...data.subarray(start, start + 4));
  if (sig !== 'ASEV') fail('bad_magic', 'ovmf.sev_metadata.signature', 'ASEV', sig);
  const size = u32(data, start + 4);
  const version = u32(data, start + 8);
  const count = u32(data, start + 12);
  if (version !== 1) fail('unsupported_version', 'ovmf.sev_metadata.version', 1, version);
  if (size < 16 + count * 12 || start + size > data.length) {
    fail('bad_length', 'ovmf.sev_metadata.size', `${16 + count * 12}..${data.length - start}`, size);
  }
  const out: SevMetadataSection[] = [];
  for (let i = 0; i < count; i++) {
    const o = start + 16 + i * 12;
    const typeId = u32(data, o + 8);
    const type = (SECTION_TYPES as Record<number, SectionTypeName | undefined>)[typeId];
    if (type === undefined) {
      fail('unknown_type', `ovmf.sev_metadata.sections[${i}].type`, 'one of 1, 2, 3, 4, 0x10', `0x${typeId.toString(16)}`);
    }
    out.push({ gpa: u32(data, o), size: u32(data, o + 4), type });
  }
  return out;
}

/**
 * Parses an OVMF image. An image without the footer table is refused (`bad_magic`), and so is one
 * without SEV metadata unless `requireSevMetadata` is false.
 */
export function parseOvmf(data: Uint8Array, opts: { requireSevMetadata?: boolean } = {}): OvmfImage {
  const table = parseFooterTable(data);
  if (table === null) {
    throw new ProtocolError(
      'bad_magic',
      `ovmf: expected an OVMF image ending with the GUIDed footer table (${GUID.footer}), got ${data.length} bytes without it`,
      'ovmf',
    );
  }
  const meta = table.get(GUID.sevMetadata);
  if (meta === undefined && opts.requireSevMetadata !== false) {
    throw new ProtocolError(
      'evidence_missing',
      `ovmf.sev_metadata: expected an SEV metadata entry (${GUID.sevMetadata}) in the footer table, got none (not an SEV-capable OVMF build)`,
      'ovmf.sev_metadata',
    );
  }
  const sections = meta === undefined ? [] : parseSevMetadata(data, meta);
  return { data, gpa: FOUR_GIB - data.length, table, sections };
}

/** u32 at the start of a footer table entry (reset vector, hashes table address). */
export function tableU32(img: OvmfImage, guid: string, name: string): number | undefined {
  const e = img.table.get(guid);
  if (e === undefined) return undefined;
  if (e.length < 4) fail('malformed', `ovmf.${name}`, '≥ 4 bytes', e.length);
  return u32(e, 0);
}
