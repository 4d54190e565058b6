/**
 * Intel TDX direct boot (QEMU `-kernel/-initrd/-append` with a TDVF): RTMR1 and RTMR2 computed
 * from the files, the way dstack's `dstack-mr` and virtee's `tdx-measure` compute them (facts
 * read from Dstack-TEE/dstack@312dc605 dstack/dstack-mr/src/kernel.rs and virtee/tdx-measure
 * src/kernel.rs, src/util.rs; docs/MEASUREMENTS.md names every source).
 *
 * RTMR1 (CCEL MR index 2), extended by the TDVF, in this order:
 *   1. EV_EFI_BOOT_SERVICES_APPLICATION: the PE/COFF Authenticode SHA-384 of the kernel image as
 *      the firmware received it. OVMF before edk2-stable202505 gets it from QEMU's fw_cfg after
 *      QEMU patched the Linux setup header (type_of_loader, heap, cmd_line_ptr, ramdisk address
 *      and size): `kernelLoad: 'qemu-patched'` (the default of both reference tools). Newer OVMF
 *      measures the file as it is: `kernelLoad: 'raw'`.
 *   2. EV_EFI_ACTION "Calling EFI Application from Boot Option"
 *   3. EV_SEPARATOR, 4 zero bytes
 *   4. EV_EFI_ACTION "Exit Boot Services Invocation"
 *   5. EV_EFI_ACTION "Exit Boot Services Returned with Success"
 * RTMR2 (MR index 3), extended by the kernel's EFI stub (EV_EVENT_TAG):
 *   1. tag 0x8F3B22ED "LOADED_IMAGE::LoadOptions": SHA-384 of the load options OVMF built: the
 *      command line followed by " initrd=initrd" (OVMF appends it when an initrd is given), as
 *      UTF-16LE with the terminating NUL code unit.
 *   2. tag 0x8F3B22EC "Linux initrd": SHA-384 of the initrd file.
 * RTMR0 (firmware configuration: TD HOB, CFV variables, QEMU's ACPI tables, boot variables) is not
 * computed here: its ACPI events hash tables QEMU generates for the exact machine (devices, vCPU
 * count, memory, QEMU version); see docs/MEASUREMENTS.md.
 *
 * Pure: no Node/DOM imports.
 */
import { sha384 } from '@noble/hashes/sha2.js';
import { fail } from '../errors';
import { nobleMeasureHash, type MeasureHash } from './snp';

export type AuthenticodeHash = 'sha256' | 'sha384';

function u16(b: Uint8Array, o: number, field: string): number {
  if (o < 0 || o + 2 > b.length) fail('truncated', field, `2 bytes at offset ${o}`, `${Math.max(0, b.length - o)} bytes`);
  return b[o]! | (b[o + 1]! << 8);
}
function u32(b: Uint8Array, o: number, field: string): number {
  if (o < 0 || o + 4 > b.length) fail('truncated', field, `4 bytes at offset ${o}`, `${Math.max(0, b.length - o)} bytes`);
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** The byte ranges of a PE/COFF image that Authenticode hashes, in order. */
export interface PeLayout {
  readonly pe32Plus: boolean;
  readonly checksumOffset: number;
  readonly certDirOffset: number;
  readonly sizeOfHeaders: number;
  /** Sections with raw data, sorted by file offset. */
  readonly sections: readonly { readonly offset: number; readonly size: number }[];
  readonly certTable: { readonly address: number; readonly size: number };
}

/** PE section count limit of the PE/COFF specification. */
export const PE_MAX_SECTIONS = 96;

export function parsePeLayout(img: Uint8Array): PeLayout {
  if (img.length < 0x40 || img[0] !== 0x4d || img[1] !== 0x5a) {
    fail('bad_magic', 'pe.dos_signature', 'MZ in a ≥ 64-byte image', img.length < 2 ? `${img.length} bytes` : `0x${(img[0]! | (img[1]! << 8)).toString(16)}`);
  }
  const peOff = u32(img, 0x3c, 'pe.e_lfanew');
  const sig = u32(img, peOff, 'pe.signature');
  if (sig !== 0x4550) fail('bad_magic', 'pe.signature', 'the PE signature 0x4550', `0x${sig.toString(16)}`);
  const coff = peOff + 4;
  const sectionCount = u16(img, coff + 2, 'pe.coff.number_of_sections');
  if (sectionCount > PE_MAX_SECTIONS) fail('too_large', 'pe.coff.number_of_sections', `≤ ${PE_MAX_SECTIONS}`, sectionCount);
  const optSize = u16(img, coff + 16, 'pe.coff.size_of_optional_header');
  const opt = coff + 20;
  const magic = u16(img, opt, 'pe.optional.magic');
  if (magic !== 0x10b && magic !== 0x20b) fail('unknown_type', 'pe.optional.magic', '0x10b (PE32) or 0x20b (PE32+)', `0x${magic.toString(16)}`);
  const pe32Plus = magic === 0x20b;
  const dataDirs = opt + (pe32Plus ? 112 : 96);
  const certDirOffset = dataDirs + 4 * 8; // IMAGE_DIRECTORY_ENTRY_SECURITY
  if (certDirOffset + 8 > opt + optSize) {
    fail('malformed', 'pe.optional.size', `an optional header holding the certificate directory (≥ ${certDirOffset + 8 - opt} bytes)`, optSize);
  }
  const sizeOfHeaders = u32(img, opt + 60, 'pe.optional.size_of_headers');
  if (sizeOfHeaders < certDirOffset + 8 || sizeOfHeaders > img.length) {
    fail('malformed', 'pe.optional.size_of_headers', `${certDirOffset + 8}..${img.length}`, sizeOfHeaders);
  }
  const table = opt + optSize;
  if (table + sectionCount * 40 > img.length) fail('truncated', 'pe.section_table', `${sectionCount} × 40 bytes at ${table}`, `${img.length - table} bytes`);
  const sections: { offset: number; size: number }[] = [];
  for (let i = 0; i < sectionCount; i++) {
    const s = table + i * 40;
    const size = u32(img, s + 16, `pe.sections[${i}].size_of_raw_data`);
    const offset = u32(img, s + 20, `pe.sections[${i}].pointer_to_raw_data`);
    if (size > 0) sections.push({ offset, size });
  }
  sections.sort((a, b) => a.offset - b.offset);
  return {
    pe32Plus,
    checksumOffset: opt + 64,
    certDirOffset,
    sizeOfHeaders,
    sections,
    certTable: { address: u32(img, certDirOffset, 'pe.cert_table.address'), size: u32(img, certDirOffset + 4, 'pe.cert_table.size') },
  };
}

/**
 * PE/COFF Authenticode digest as dstack-mr / tdx-measure compute it for the TDVF's kernel event:
 * the headers without CheckSum and the certificate directory entry, every section's raw data in
 * file order (a section running past the end of the file contributes the bytes that exist), the
 * data after the sections minus the certificate table when one is declared, then zero bytes up to
 * a multiple of 8 of the file size.
 */
export function authenticodeDigest(img: Uint8Array, alg: AuthenticodeHash = 'sha384', hash: MeasureHash = nobleMeasureHash): Uint8Array {
  const l = parsePeLayout(img);
  const parts: Uint8Array[] = [
    img.subarray(0, l.checksumOffset),
    img.subarray(l.checksumOffset + 4, l.certDirOffset),
    img.subarray(l.certDirOffset + 8, l.sizeOfHeaders),
  ];
  let hashed = l.sizeOfHeaders;
  for (const s of l.sections) {
    if (s.offset < img.length) parts.push(img.subarray(s.offset, Math.min(img.length, s.offset + s.size)));
    hashed += s.size;
  }
  if (l.certTable.address > 0 && l.certTable.size > 0 && img.length > hashed) {
    const trailing = img.length - hashed;
    if (trailing > l.certTable.size) parts.push(img.subarray(hashed, hashed + trailing - l.certTable.size));
  }
  if (img.length % 8 !== 0) parts.push(new Uint8Array(8 - (img.length % 8)));
  // One buffer, one hash call: the injected hash (OpenSSL in the CLI) is one-shot.
  const total = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return hash(alg === 'sha256' ? 'SHA-256' : 'SHA-384', buf);
}

// ---- QEMU's Linux setup-header patch (hw/i386/x86.c x86_load_linux, as the reference tools model it) ----

/** QEMU's default ACPI data size for the q35 machine, used by both reference tools. */
export const QEMU_ACPI_DATA_SIZE = 0x28000;
const HDRS = 0x53726448; // "HdrS"

export interface QemuKernelPatch {
  readonly initrdSize: number;
  /** Guest RAM in bytes (QEMU -m). */
  readonly memoryBytes: bigint;
  readonly acpiDataSize?: number;
}

export interface PatchedKernel {
  readonly image: Uint8Array;
  readonly bootProtocol: number;
  readonly initrdAddress: number | null;
  readonly cmdlineAddress: number;
}

export function patchKernelLikeQemu(kernel: Uint8Array, p: QemuKernelPatch): PatchedKernel {
  if (kernel.length < 0x1000) fail('bad_length', 'kernel', '≥ 4096 bytes (a Linux bzImage)', kernel.length);
  const hdrs = u32(kernel, 0x202, 'kernel.setup_header.header');
  if (hdrs !== HDRS) fail('bad_magic', 'kernel.setup_header.header', 'HdrS (a Linux x86 boot image)', `0x${hdrs.toString(16)}`);
  if (!Number.isSafeInteger(p.initrdSize) || p.initrdSize < 0 || p.initrdSize > 0xffff_ffff) fail('too_large', 'initrd.size', '0..4294967295', p.initrdSize);
  if (p.memoryBytes <= 0n) fail('malformed', 'memory', '> 0 bytes', p.memoryBytes.toString());
  const acpi = p.acpiDataSize ?? QEMU_ACPI_DATA_SIZE;
  if (!Number.isSafeInteger(acpi) || acpi < 0 || acpi > 0xffff_ffff) fail('malformed', 'acpi_data_size', '0..4294967295', acpi);
  const k = kernel.slice();
  const v = new DataView(k.buffer, k.byteOffset, k.byteLength);
  const protocol = v.getUint16(0x206, true);
  const low = protocol < 0x200 || (k[0x211]! & 0x01) === 0;
  const realAddr = low ? 0x90000 : 0x10000;
  const cmdlineAddr = low ? 0x9a000 : 0x20000;
  if (protocol >= 0x200) k[0x210] = 0xb0; // type_of_loader: QEMU
  if (protocol >= 0x201) {
    k[0x211] = k[0x211]! | 0x80; // CAN_USE_HEAP
    v.setUint32(0x224, cmdlineAddr - realAddr - 0x200, true); // heap_end_ptr
  }
  if (protocol >= 0x202) {
    v.setUint32(0x228, cmdlineAddr, true);
  } else {
    v.setUint16(0x20, 0xa33f, true);
    v.setUint16(0x22, cmdlineAddr - realAddr, true);
  }
  let initrdAddress: number | null = null;
  if (p.initrdSize > 0) {
    if (protocol < 0x200) fail('unsupported_version', 'kernel.setup_header.version', '≥ 0x200 (an initrd needs it)', `0x${protocol.toString(16)}`);
    let initrdMax: number;
    if (protocol >= 0x20c) initrdMax = (v.getUint16(0x236, true) & 0x40) !== 0 ? 0xffff_ffff : 0x37ff_ffff;
    else if (protocol >= 0x203) initrdMax = v.getUint32(0x22c, true) || 0x37ff_ffff;
    else initrdMax = 0x37ff_ffff;
    // q35: below-4G RAM is capped at 2 GiB from 0xB0000000 bytes of RAM up, at 0xB0000000 below it.
    const lowmem = p.memoryBytes < 0xb000_0000n ? 0xb000_0000n : 0x8000_0000n;
    const below4g = Number(p.memoryBytes >= lowmem ? lowmem : p.memoryBytes);
    if (acpi >= below4g) fail('too_large', 'acpi_data_size', `< ${below4g} (RAM below 4 GiB)`, acpi);
    if (initrdMax >= below4g - acpi) initrdMax = below4g - acpi - 1;
    if (p.initrdSize >= initrdMax) fail('too_large', 'initrd.size', `< ${initrdMax} (QEMU's initrd_max for this kernel and memory)`, p.initrdSize);
    initrdAddress = ((initrdMax - p.initrdSize) & ~4095) >>> 0;
    v.setUint32(0x218, initrdAddress, true);
    v.setUint32(0x21c, p.initrdSize, true);
  }
  return { image: k, bootProtocol: protocol, initrdAddress, cmdlineAddress: cmdlineAddr };
}

// ---- the event sequences ----

export const EV_SEPARATOR = 0x4;
export const EV_EVENT_TAG = 0x6;
export const EV_EFI_BOOT_SERVICES_APPLICATION = 0x80000003;
export const EV_EFI_ACTION = 0x80000007;
export const TAG_LOAD_OPTIONS = 0x8f3b22ed;
export const TAG_LINUX_INITRD = 0x8f3b22ec;

export type TdxBootInput = 'kernel' | 'firmware' | 'cmdline' | 'initrd';

export interface TdxBootEvent {
  readonly eventType: number;
  /** Which input the digest depends on ('firmware': a constant the TDVF measures). */
  readonly input: TdxBootInput;
  readonly description: string;
  readonly digest: Uint8Array;
}

export type KernelLoad = 'qemu-patched' | 'raw';
export const KERNEL_LOADS: readonly KernelLoad[] = ['qemu-patched', 'raw'];

export interface TdxDirectBootInput {
  /** The kernel file (a PE/COFF EFI-stub bzImage). Exactly one of kernel / kernelDigest. */
  readonly kernel?: Uint8Array;
  /** Or its Authenticode SHA-384 as measured (e.g. from a reference log). */
  readonly kernelDigest?: Uint8Array;
  readonly initrd: Uint8Array;
  /** The command line given to QEMU (-append), without OVMF's " initrd=initrd". */
  readonly append: string;
  /** Guest RAM in bytes: the QEMU patch places the initrd below it. Required with 'qemu-patched'. */
  readonly memoryBytes?: bigint;
  readonly acpiDataSize?: number;
  readonly kernelLoad?: KernelLoad;
  /** SHA implementation (default @noble/hashes; the CLI injects OpenSSL). */
  readonly hash?: MeasureHash;
}

export interface TdxDirectBootResult {
  readonly rtmr1: Uint8Array;
  readonly rtmr2: Uint8Array;
  readonly rtmr1Events: readonly TdxBootEvent[];
  readonly rtmr2Events: readonly TdxBootEvent[];
  /** The load options string the EFI stub measures (before UTF-16LE encoding and the NUL). */
  readonly loadOptions: string;
  readonly kernelLoad: KernelLoad;
  readonly kernelDigest: Uint8Array;
  /** Where QEMU's patch put the initrd (null: not patched or no initrd). */
  readonly initrdAddress: number | null;
}

const ascii = (s: string): Uint8Array => Uint8Array.from([...s].map((c) => c.charCodeAt(0)));

/** UTF-16LE code units of `s` followed by a NUL code unit (EFI load options). */
export function utf16leNul(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2 + 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[2 * i] = c & 0xff;
    out[2 * i + 1] = c >> 8;
  }
  return out;
}

/** The four RTMR1 events after the kernel's (constants of the TDVF boot path). */
export function rtmr1FirmwareEvents(): TdxBootEvent[] {
  const action = (s: string): TdxBootEvent => ({ eventType: EV_EFI_ACTION, input: 'firmware', description: `EV_EFI_ACTION "${s}"`, digest: sha384(ascii(s)) });
  return [
    action('Calling EFI Application from Boot Option'),
    { eventType: EV_SEPARATOR, input: 'firmware', description: 'EV_SEPARATOR 00000000', digest: sha384(new Uint8Array(4)) },
    action('Exit Boot Services Invocation'),
    action('Exit Boot Services Returned with Success'),
  ];
}

/** RTMR extension of a sequence of event digests from zero. */
export function extendRtmr(digests: readonly Uint8Array[]): Uint8Array {
  let mr: Uint8Array = new Uint8Array(48);
  const buf = new Uint8Array(96);
  for (const d of digests) {
    if (d.length !== 48) fail('bad_length', 'rtmr.event.digest', 48, d.length);
    buf.set(mr, 0);
    buf.set(d, 48);
    mr = sha384(buf);
  }
  return mr;
}

/** The RTMR2 command-line string OVMF hands the kernel: the command line plus " initrd=initrd". */
export function tdxLoadOptions(append: string): string {
  return `${append} initrd=initrd`;
}

export function kernelDigestFor(
  kernel: Uint8Array,
  initrdSize: number,
  load: KernelLoad,
  memoryBytes: bigint | undefined,
  acpiDataSize?: number,
  hash: MeasureHash = nobleMeasureHash,
): { digest: Uint8Array; initrdAddress: number | null } {
  if (load === 'raw') return { digest: authenticodeDigest(kernel, 'sha384', hash), initrdAddress: null };
  if (memoryBytes === undefined) fail('evidence_missing', 'memory', 'the guest RAM size (the QEMU kernel patch depends on it)', 'none');
  // Check the PE first: a file that is not a PE kernel gets the PE error, not a setup-header one.
  parsePeLayout(kernel);
  const p = patchKernelLikeQemu(kernel, { initrdSize, memoryBytes, ...(acpiDataSize !== undefined ? { acpiDataSize } : {}) });
  return { digest: authenticodeDigest(p.image, 'sha384', hash), initrdAddress: p.initrdAddress };
}

export function measureTdxDirectBoot(input: TdxDirectBootInput): TdxDirectBootResult {
  const load = input.kernelLoad ?? 'qemu-patched';
  const hash = input.hash ?? nobleMeasureHash;
  if ((input.kernel === undefined) === (input.kernelDigest === undefined)) {
    fail('malformed', 'kernel', 'exactly one of the kernel image or its digest', input.kernel === undefined ? 'neither' : 'both');
  }
  let kernelDigest: Uint8Array;
  let initrdAddress: number | null = null;
  if (input.kernel !== undefined) {
    const k = kernelDigestFor(input.kernel, input.initrd.length, load, input.memoryBytes, input.acpiDataSize, hash);
    kernelDigest = k.digest;
    initrdAddress = k.initrdAddress;
  } else {
    kernelDigest = input.kernelDigest!;
    if (kernelDigest.length !== 48) fail('bad_length', 'kernel_digest', 48, kernelDigest.length);
  }
  const rtmr1Events: TdxBootEvent[] = [
    { eventType: EV_EFI_BOOT_SERVICES_APPLICATION, input: 'kernel', description: `EV_EFI_BOOT_SERVICES_APPLICATION kernel (Authenticode SHA-384, ${load})`, digest: kernelDigest },
    ...rtmr1FirmwareEvents(),
  ];
  const loadOptions = tdxLoadOptions(input.append);
  const rtmr2Events: TdxBootEvent[] = [
    { eventType: EV_EVENT_TAG, input: 'cmdline', description: 'EV_EVENT_TAG LOADED_IMAGE::LoadOptions (UTF-16LE + NUL)', digest: hash('SHA-384', utf16leNul(loadOptions)) },
    { eventType: EV_EVENT_TAG, input: 'initrd', description: 'EV_EVENT_TAG Linux initrd (SHA-384 of the file)', digest: hash('SHA-384', input.initrd) },
  ];
  return {
    rtmr1: extendRtmr(rtmr1Events.map((e) => e.digest)),
    rtmr2: extendRtmr(rtmr2Events.map((e) => e.digest)),
    rtmr1Events,
    rtmr2Events,
    loadOptions,
    kernelLoad: load,
    kernelDigest,
    initrdAddress,
  };
}
