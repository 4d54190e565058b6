/**
 * The SEV-SNP certificate table that SNP_GET_EXT_REPORT returns (GHCB spec §4.1.8.1; Linux
 * configfs-tsm `auxblob`): entries of {GUID[16], offset u32, length u32} (little-endian),
 * terminated by an all-zero entry; offsets are relative to the start of the table.
 * Known GUIDs: VCEK, VLEK, ASK, ARK. GUIDs are matched in both byte orders (RFC 4122 and the
 * mixed-endian EFI layout), since producers differ. Throws only ProtocolError.
 */
import { ProtocolError } from '../../errors';
import { isAllZero, toHex } from '../../asn1/encoding';

export const CERT_TABLE_GUIDS = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

export const CERT_TABLE_LIMITS = { maxEntries: 64, maxSize: 1 << 20 } as const;

function guidText(b: Uint8Array, efi: boolean): string {
  const h = toHex(b);
  if (!efi)
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  const rev = (s: string): string => s.match(/../g)!.reverse().join('');
  return `${rev(h.slice(0, 8))}-${rev(h.slice(8, 12))}-${rev(h.slice(12, 16))}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** GUID text → 16 bytes in RFC 4122 order (or the EFI mixed-endian order). */
export function guidBytes(guid: string, efi = false): Uint8Array {
  const h = guid.replace(/-/g, '');
  const rev = (s: string): string => s.match(/../g)!.reverse().join('');
  const ordered = efi
    ? rev(h.slice(0, 8)) + rev(h.slice(8, 12)) + rev(h.slice(12, 16)) + h.slice(16)
    : h;
  return Uint8Array.from(ordered.match(/../g)!.map((x) => parseInt(x, 16)));
}

export interface CertTableEntry {
  /** RFC 4122 text of the GUID as matched. */
  readonly guid: string;
  /** 'vcek' | 'vlek' | 'ask' | 'ark', or `certtable.<guid>` for unknown entries. */
  readonly name: string;
  readonly data: Uint8Array;
}

const u32 = (b: Uint8Array, o: number): number =>
  (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

export function parseCertTable(table: Uint8Array): CertTableEntry[] {
  if (table.length > CERT_TABLE_LIMITS.maxSize) {
    throw new ProtocolError(
      'too_large',
      `cert_table: expected at most ${CERT_TABLE_LIMITS.maxSize} bytes, got ${table.length}`,
      'cert_table',
    );
  }
  const known = new Map<string, string>();
  for (const [name, g] of Object.entries(CERT_TABLE_GUIDS)) known.set(g, name);
  const out: CertTableEntry[] = [];
  for (let i = 0; ; i++) {
    const o = 24 * i;
    if (o + 24 > table.length)
      throw new ProtocolError(
        'truncated',
        `cert_table: expected a terminating all-zero entry, got end of data at entry ${i}`,
        'cert_table',
      );
    const entry = table.subarray(o, o + 24);
    if (isAllZero(entry)) break;
    if (i >= CERT_TABLE_LIMITS.maxEntries)
      throw new ProtocolError(
        'too_large',
        `cert_table: expected at most ${CERT_TABLE_LIMITS.maxEntries} entries, got more`,
        'cert_table',
      );
    const g = entry.subarray(0, 16);
    const off = u32(entry, 16);
    const len = u32(entry, 20);
    if (off + len > table.length || off < 24 * (i + 1)) {
      throw new ProtocolError(
        'bad_length',
        `cert_table[${i}]: expected offset+length within the ${table.length}-byte table and after the header, got ${off}+${len}`,
        `cert_table[${i}]`,
      );
    }
    const rfc = guidText(g, false);
    const efi = guidText(g, true);
    const name = known.get(rfc) ?? known.get(efi) ?? `certtable.${rfc}`;
    const guid = known.has(efi) && !known.has(rfc) ? efi : rfc;
    if (out.some((e) => e.name === name))
      throw new ProtocolError(
        'malformed',
        `cert_table[${i}]: expected each GUID once, got ${guid} twice`,
        `cert_table[${i}]`,
      );
    out.push({ guid, name, data: table.subarray(off, off + len) });
  }
  return out;
}

/** Builds a table (for the simulated provider and tests). */
export function buildCertTable(
  entries: readonly { guid: string; data: Uint8Array }[],
  efi = false,
): Uint8Array {
  const header = 24 * (entries.length + 1);
  const total = header + entries.reduce((n, e) => n + e.data.length, 0);
  const out = new Uint8Array(total);
  let off = header;
  entries.forEach((e, i) => {
    out.set(guidBytes(e.guid, efi), 24 * i);
    const dv = new DataView(out.buffer, out.byteOffset + 24 * i + 16, 8);
    dv.setUint32(0, off, true);
    dv.setUint32(4, e.data.length, true);
    out.set(e.data, off);
    off += e.data.length;
  });
  return out;
}
