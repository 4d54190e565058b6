/**
 * Intel TDX: MRTD of a TDVF (OVMF with TDX support) image, and a per-event trace of the RTMRs a
 * CCEL event log replays to (which event produced each RTMR value, and where two logs diverge).
 *
 * TDVF metadata (Intel TDVF design guide §11, facts): the OVMF footer table entry
 * e47a6535-984a-4798-865e-4685a7bf8ec2 holds a u32 offset from the end of the image to
 * { "TDVF"; u32 length; u32 version = 1; u32 count; count × { u32 data_offset; u32 raw_size;
 *   u64 memory_address; u64 memory_size; u32 type; u32 attributes } }.
 * Types: 0 BFV, 1 CFV, 2 TD_HOB, 3 TEMP_MEM, 4 PERM_MEM, 5 PAYLOAD, 6 PAYLOAD_PARAM.
 * Attributes: bit 0 MR_EXTEND, bit 1 PAGE_AUG.
 *
 * MRTD: the TDX module's SHA-384 over, for every section in order and every 4 KiB page of it,
 *   TDH.MEM.PAGE.ADD (unless PAGE_AUG): 128 bytes "MEM.PAGE.ADD" ‖ zero pad to 16 ‖ u64 GPA ‖ zeros;
 *   TDH.MR.EXTEND (if MR_EXTEND), per 256-byte chunk: 128 bytes "MR.EXTEND" ‖ pad ‖ u64 GPA ‖ zeros,
 *   then the 256 bytes of image data at data_offset + (GPA − memory_address).
 * The hypervisor may add every page first and extend afterwards (`order: 'two-pass'`; seen with
 * some QEMU/TDX module combinations, virtee/tdx-measure#18) — that changes MRTD.
 *
 * Pure: no Node/DOM imports.
 */
import { sha384 } from '@noble/hashes/sha2.js';
import { fail, ProtocolError } from '../errors';
import { EV_NO_ACTION, TPM_ALG_SHA384, type CcelLog } from '../attestation/tdx/ccel';
import { GUID, parseFooterTable } from './ovmf';

export const TDVF_SECTION_TYPES = ['BFV', 'CFV', 'TD_HOB', 'TEMP_MEM', 'PERM_MEM', 'PAYLOAD', 'PAYLOAD_PARAM'] as const;
export type TdvfSectionType = (typeof TDVF_SECTION_TYPES)[number];
export const TDVF_ATTR_MR_EXTEND = 0x1;
export const TDVF_ATTR_PAGE_AUG = 0x2;

export interface TdvfSection {
  readonly dataOffset: number;
  readonly rawSize: number;
  readonly memoryAddress: bigint;
  readonly memorySize: number;
  readonly type: TdvfSectionType;
  readonly attributes: number;
}

function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
function u64(b: Uint8Array, o: number): bigint {
  return BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
}

/** Limit on the pages a TDVF image may declare (bounds the work on hostile input). */
export const TDVF_MAX_PAGES = 1 << 20;

export function parseTdvf(fw: Uint8Array): TdvfSection[] {
  const table = parseFooterTable(fw);
  if (table === null) {
    throw new ProtocolError('bad_magic', `tdvf: expected an OVMF/TDVF image with the GUIDed footer table, got ${fw.length} bytes without it`, 'tdvf');
  }
  const entry = table.get(GUID.tdxMetadataOffset);
  if (entry === undefined) {
    throw new ProtocolError(
      'evidence_missing',
      `tdvf.tdx_metadata: expected a TDX metadata entry (${GUID.tdxMetadataOffset}) in the footer table, got none (not a TDX-capable build)`,
      'tdvf.tdx_metadata',
    );
  }
  if (entry.length < 4) fail('malformed', 'tdvf.tdx_metadata_entry', '≥ 4 bytes', entry.length);
  const off = u32(entry, entry.length - 4);
  const start = fw.length - off;
  if (off > fw.length || start + 16 > fw.length) fail('malformed', 'tdvf.metadata.offset', `16..${fw.length}`, off);
  const sig = String.fromCharCode(...fw.subarray(start, start + 4));
  if (sig !== 'TDVF') fail('bad_magic', 'tdvf.metadata.signature', 'TDVF', sig);
  const version = u32(fw, start + 8);
  if (version !== 1) fail('unsupported_version', 'tdvf.metadata.version', 1, version);
  const count = u32(fw, start + 12);
  if (start + 16 + count * 32 > fw.length) fail('bad_length', 'tdvf.metadata.count', `≤ ${Math.floor((fw.length - start - 16) / 32)}`, count);
  const out: TdvfSection[] = [];
  let pages = 0;
  for (let i = 0; i < count; i++) {
    const o = start + 16 + i * 32;
    const f = `tdvf.sections[${i}]`;
    const typeId = u32(fw, o + 24);
    const type = TDVF_SECTION_TYPES[typeId];
    if (type === undefined) fail('unknown_type', `${f}.type`, '0..6', typeId);
    const memSize64 = u64(fw, o + 16);
    const s: TdvfSection = {
      dataOffset: u32(fw, o),
      rawSize: u32(fw, o + 4),
      memoryAddress: u64(fw, o + 8),
      memorySize: Number(memSize64),
      type,
      attributes: u32(fw, o + 28),
    };
    if (s.memoryAddress % 4096n !== 0n) fail('malformed', `${f}.memory_address`, 'a multiple of 4096', `0x${s.memoryAddress.toString(16)}`);
    if (memSize64 % 4096n !== 0n || memSize64 > BigInt(TDVF_MAX_PAGES) * 4096n) {
      fail('malformed', `${f}.memory_size`, 'a multiple of 4096 (bounded)', memSize64.toString());
    }
    if (s.memorySize < s.rawSize) fail('malformed', `${f}.raw_size`, `≤ memory_size ${s.memorySize}`, s.rawSize);
    if ((s.attributes & TDVF_ATTR_MR_EXTEND) !== 0 && s.dataOffset + s.memorySize > fw.length) {
      fail('bad_length', `${f}.data_offset`, `a measured range inside the ${fw.length}-byte image`, `${s.dataOffset}+${s.memorySize}`);
    }
    pages += s.memorySize / 4096;
    if (pages > TDVF_MAX_PAGES) fail('too_large', 'tdvf.pages', `≤ ${TDVF_MAX_PAGES}`, pages);
    out.push(s);
  }
  return out;
}

export interface MrtdResult {
  readonly mrtd: Uint8Array;
  readonly sections: readonly TdvfSection[];
  readonly order: 'interleaved' | 'two-pass';
  readonly pagesAdded: number;
  readonly chunksExtended: number;
}

export function tdxMrtd(fw: Uint8Array, opts: { order?: 'interleaved' | 'two-pass' } = {}): MrtdResult {
  const order = opts.order ?? 'interleaved';
  const sections = parseTdvf(fw);
  const h = sha384.create();
  const buf = new Uint8Array(128);
  const view = new DataView(buf.buffer);
  const ADD = [...'MEM.PAGE.ADD'].map((c) => c.charCodeAt(0));
  const EXT = [...'MR.EXTEND'].map((c) => c.charCodeAt(0));
  let pagesAdded = 0;
  let chunksExtended = 0;
  const add = (gpa: bigint): void => {
    buf.fill(0);
    buf.set(ADD, 0);
    view.setBigUint64(16, gpa, true);
    h.update(buf);
    pagesAdded++;
  };
  const extend = (s: TdvfSection, page: number): void => {
    for (let c = 0; c < 16; c++) {
      const rel = page * 4096 + c * 256;
      buf.fill(0);
      buf.set(EXT, 0);
      view.setBigUint64(16, s.memoryAddress + BigInt(rel), true);
      h.update(buf);
      h.update(fw.subarray(s.dataOffset + rel, s.dataOffset + rel + 256));
      chunksExtended++;
    }
  };
  const passes: ('add' | 'extend' | 'both')[] = order === 'two-pass' ? ['add', 'extend'] : ['both'];
  for (const pass of passes) {
    for (const s of sections) {
      for (let p = 0; p < s.memorySize / 4096; p++) {
        if (pass !== 'extend' && (s.attributes & TDVF_ATTR_PAGE_AUG) === 0) add(s.memoryAddress + BigInt(p * 4096));
        if (pass !== 'add' && (s.attributes & TDVF_ATTR_MR_EXTEND) !== 0) extend(s, p);
      }
    }
  }
  return { mrtd: h.digest(), sections, order, pagesAdded, chunksExtended };
}

// ---- RTMR trace from a CCEL log ----

export interface RtmrStep {
  /** Index of the event in the log (TCG_PCR_EVENT2 records, 0-based). */
  readonly event: number;
  readonly eventType: number;
  readonly digest: Uint8Array;
  /** The RTMR value after this event. */
  readonly after: Uint8Array;
}

/** For RTMR0..3, the events that extended it, in order, with the running value. */
export function traceRtmrs(log: CcelLog): RtmrStep[][] {
  const cur = [0, 1, 2, 3].map(() => new Uint8Array(48));
  const steps: RtmrStep[][] = [[], [], [], []];
  log.events.forEach((e, i) => {
    if (e.eventType === EV_NO_ACTION || e.mrIndex < 1 || e.mrIndex > 4) return;
    const d = e.digests.get(TPM_ALG_SHA384);
    if (d === undefined) fail('malformed', `ccel.events[${i}].digests`, 'a SHA-384 digest', 'none');
    const k = e.mrIndex - 1;
    const joined = new Uint8Array(96);
    joined.set(cur[k]!, 0);
    joined.set(d, 48);
    cur[k] = sha384(joined);
    steps[k]!.push({ event: i, eventType: e.eventType, digest: d, after: cur[k]! });
  });
  return steps;
}

export interface RtmrDiff {
  readonly rtmr: number;
  readonly same: boolean;
  /** Position (within this RTMR's events) of the first differing extend; null when same. */
  readonly firstDifference: number | null;
  readonly actual: RtmrStep | null;
  readonly expected: RtmrStep | null;
}

/** Compares two logs RTMR by RTMR and names the first event where each diverges. */
export function diffRtmrTraces(actual: RtmrStep[][], expected: RtmrStep[][]): RtmrDiff[] {
  const eq = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  return [0, 1, 2, 3].map((k) => {
    const a = actual[k]!;
    const e = expected[k]!;
    const n = Math.max(a.length, e.length);
    for (let i = 0; i < n; i++) {
      const x = a[i];
      const y = e[i];
      if (x === undefined || y === undefined || !eq(x.digest, y.digest)) {
        return { rtmr: k, same: false, firstDifference: i, actual: x ?? null, expected: y ?? null };
      }
    }
    return { rtmr: k, same: true, firstDifference: null, actual: null, expected: null };
  });
}
