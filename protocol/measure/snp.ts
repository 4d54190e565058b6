/**
 * The AMD SEV-SNP launch digest (report MEASUREMENT), recomputed from published inputs, bit for
 * bit as virtee/sev-snp-measure (mode `snp`) computes it. Written from the algorithm (AMD SEV-SNP
 * ABI spec §8.17 SNP_LAUNCH_UPDATE, PAGE_INFO; edk2 OVMF metadata; QEMU's SEV hashes table and
 * initial VMSA; see docs/MEASUREMENTS.md), not translated from the reference's code.
 *
 * The digest is a chain: ld' = SHA-384(PAGE_INFO) where PAGE_INFO (0x70 bytes) =
 *   ld(48) ‖ contents(48) ‖ u16 0x70 ‖ u8 page_type ‖ u8 is_imi=0 ‖ 4 × u8 vmpl perms=0 ‖ u64 gpa
 * and contents = SHA-384(page) for normal and VMSA pages, 48 zero bytes otherwise. In order:
 *   1. the OVMF image, page by page (type 1) at 4 GiB − size (or a published OVMF digest as seed);
 *   2. the SEV metadata sections in image order: SNP_SEC_MEMORY → zero pages (type 3; gce:
 *      unmeasured, type 4), SNP_SECRETS → secrets page (5), CPUID → CPUID page (6; ec2 measures
 *      every CPUID page after all other sections), SVSM_CAA → zero pages, SNP_KERNEL_HASHES →
 *      the page holding QEMU's SEV hashes table (type 1) or zero pages without a kernel;
 *   3. one VMSA page per vCPU (type 2, GPA 0xFFFFFFFFF000): BSP first, then APs.
 *
 * Pure (no Node/DOM imports). Hashing is injectable so Node callers can use OpenSSL; the default
 * is @noble/hashes.
 */
import { sha256 as nobleSha256, sha384 as nobleSha384 } from '@noble/hashes/sha2.js';
import { fail, ProtocolError } from '../errors';
import { utf8Encode } from '../wire/bytes';
import {
  GUID,
  guidToBytesLe as guidLe,
  PAGE_SIZE,
  parseOvmf,
  tableU32,
  type OvmfImage,
  type SectionTypeName,
} from './ovmf';
import { buildVmsaPage, parseVmmType, type VmmType } from './vmsa';

export type MeasureHash = (alg: 'SHA-256' | 'SHA-384', data: Uint8Array) => Uint8Array;

export const nobleMeasureHash: MeasureHash = (alg, data) =>
  alg === 'SHA-256' ? nobleSha256(data) : nobleSha384(data);

export const LD_SIZE = 48;
export const VMSA_GPA = 0xffff_ffff_f000;
/** Most vCPUs accepted (QEMU's SNP limit is far lower; this only bounds the work). */
export const MAX_VCPUS = 4096;

export const PAGE_TYPE = {
  normal: 0x01,
  vmsa: 0x02,
  zero: 0x03,
  unmeasured: 0x04,
  secrets: 0x05,
  cpuid: 0x06,
} as const;
export type PageTypeName = keyof typeof PAGE_TYPE;

/** The guest context: the running launch digest. */
export class SnpLaunchDigest {
  private ld: Uint8Array;
  private readonly pageInfo = new Uint8Array(0x70);
  private readonly view = new DataView(this.pageInfo.buffer);
  private readonly zeros = new Uint8Array(LD_SIZE);
  updates = 0;

  constructor(
    private readonly hash: MeasureHash = nobleMeasureHash,
    seed?: Uint8Array,
  ) {
    if (seed !== undefined && seed.length !== LD_SIZE) fail('bad_length', 'snp.ovmf_hash', `${LD_SIZE} bytes`, seed.length);
    this.ld = seed === undefined ? new Uint8Array(LD_SIZE) : Uint8Array.from(seed);
    this.view.setUint16(96, 0x70, true);
  }

  digest(): Uint8Array {
    return Uint8Array.from(this.ld);
  }

  /** One SNP_LAUNCH_UPDATE step (PAGE_INFO, ABI spec Table "PAGE_INFO"). */
  update(pageType: number, gpa: number, contents: Uint8Array): void {
    if (contents.length !== LD_SIZE) fail('bad_length', 'snp.page_info.contents', LD_SIZE, contents.length);
    if (!Number.isSafeInteger(gpa) || gpa < 0) fail('malformed', 'snp.page_info.gpa', 'a non-negative integer', gpa);
    const p = this.pageInfo;
    p.set(this.ld, 0);
    p.set(contents, 48);
    p[98] = pageType;
    p[99] = 0; // is_imi
    p[100] = p[101] = p[102] = p[103] = 0; // vmpl3..1 perms, reserved
    this.view.setBigUint64(104, BigInt(gpa), true);
    this.ld = this.hash('SHA-384', p);
    this.updates++;
  }

  /** Normal (measured) pages: `data` is a multiple of 4 KiB, hashed page by page from `gpa`. */
  updateNormalPages(gpa: number, data: Uint8Array): void {
    if (data.length % PAGE_SIZE !== 0) fail('bad_length', 'snp.normal_pages', 'a multiple of 4096 bytes', data.length);
    for (let off = 0; off < data.length; off += PAGE_SIZE) {
      this.update(PAGE_TYPE.normal, gpa + off, this.hash('SHA-384', data.subarray(off, off + PAGE_SIZE)));
    }
  }

  /** Zero or unmeasured pages over `length` bytes (a multiple of 4 KiB). */
  updateEmptyPages(type: 'zero' | 'unmeasured', gpa: number, length: number): void {
    if (length % PAGE_SIZE !== 0) fail('bad_length', `snp.${type}_pages`, 'a multiple of 4096 bytes', length);
    for (let off = 0; off < length; off += PAGE_SIZE) this.update(PAGE_TYPE[type], gpa + off, this.zeros);
  }

  updateSinglePage(type: 'secrets' | 'cpuid', gpa: number): void {
    this.update(PAGE_TYPE[type], gpa, this.zeros);
  }

  updateVmsa(page: Uint8Array): void {
    if (page.length !== PAGE_SIZE) fail('bad_length', 'snp.vmsa', PAGE_SIZE, page.length);
    this.update(PAGE_TYPE.vmsa, VMSA_GPA, this.hash('SHA-384', page));
  }
}

// ---- SEV hashes table (QEMU target/i386/sev.c, OVMF's SevHashFinderLib) ----

export const SEV_HASH_GUID = {
  table: '9438d606-4f22-4cc9-b479-a793d411fd21',
  kernel: '4de79437-abd2-427f-b835-d5b172d2045b',
  initrd: '44baf731-3a2f-4bd7-9af1-41e29169781d',
  cmdline: '97d02dd8-bd20-4c94-aa78-e7714d36ab2a',
} as const;

/** Table header (GUID + u16 length) + 3 entries of (GUID + u16 length + SHA-256). */
export const SEV_HASH_ENTRY_SIZE = 16 + 2 + 32;
export const SEV_HASH_TABLE_SIZE = 16 + 2 + 3 * SEV_HASH_ENTRY_SIZE; // 168
export const SEV_HASH_TABLE_PADDED = (SEV_HASH_TABLE_SIZE + 15) & ~15; // 176

export interface SevHashes {
  readonly kernel: Uint8Array;
  readonly initrd: Uint8Array;
  readonly cmdline: Uint8Array;
}

/**
 * SHA-256 of kernel, initrd (empty when absent) and command line (UTF-8 with a trailing NUL; an
 * absent or empty command line is the single NUL byte).
 */
export function sevHashes(
  kernel: Uint8Array,
  initrd: Uint8Array | undefined,
  append: string | undefined,
  hash: MeasureHash = nobleMeasureHash,
): SevHashes {
  const cmd = utf8Encode(append ?? '');
  const withNul = new Uint8Array(cmd.length + 1);
  withNul.set(cmd, 0);
  return {
    kernel: hash('SHA-256', kernel),
    initrd: hash('SHA-256', initrd ?? new Uint8Array(0)),
    cmdline: hash('SHA-256', withNul),
  };
}

/** The padded table (176 bytes): header, then cmdline, initrd, kernel entries, zero padding. */
export function sevHashTable(h: SevHashes): Uint8Array {
  const out = new Uint8Array(SEV_HASH_TABLE_PADDED);
  const v = new DataView(out.buffer);
  out.set(guidLe(SEV_HASH_GUID.table), 0);
  v.setUint16(16, SEV_HASH_TABLE_SIZE, true);
  const entries: [string, Uint8Array][] = [
    [SEV_HASH_GUID.cmdline, h.cmdline],
    [SEV_HASH_GUID.initrd, h.initrd],
    [SEV_HASH_GUID.kernel, h.kernel],
  ];
  let o = 18;
  for (const [g, d] of entries) {
    if (d.length !== 32) fail('bad_length', 'sev_hashes.entry', 32, d.length);
    out.set(guidLe(g), o);
    v.setUint16(o + 16, SEV_HASH_ENTRY_SIZE, true);
    out.set(d, o + 18);
    o += SEV_HASH_ENTRY_SIZE;
  }
  return out;
}

/** The 4 KiB page holding the table at `offsetInPage` (the table GPA's low 12 bits). */
export function sevHashesPage(h: SevHashes, offsetInPage: number): Uint8Array {
  if (offsetInPage + SEV_HASH_TABLE_PADDED > PAGE_SIZE) {
    fail('malformed', 'ovmf.sev_hash_table_gpa', `a page offset ≤ ${PAGE_SIZE - SEV_HASH_TABLE_PADDED}`, offsetInPage);
  }
  const page = new Uint8Array(PAGE_SIZE);
  page.set(sevHashTable(h), offsetInPage);
  return page;
}

// ---- the whole launch ----

export interface SnpMeasureInput {
  /** The OVMF image (also needed with `ovmfHash`: its footer gives the metadata and reset vector). */
  readonly ovmf: Uint8Array;
  /** Start from this published OVMF digest instead of hashing the image's pages. */
  readonly ovmfHash?: Uint8Array;
  /** Direct boot: the kernel, and optionally initrd and command line (SEV hashes table). */
  readonly kernel?: Uint8Array;
  readonly initrd?: Uint8Array;
  readonly append?: string;
  /** Or the three SHA-256 values already computed (e.g. with OpenSSL over large files). */
  readonly hashes?: SevHashes;
  readonly vcpus: number;
  /** CPUID signature (QEMU puts it in RDX); ignored for ec2 and gce (RDX = 0x600). */
  readonly vcpuSig?: bigint;
  readonly vmmType?: VmmType;
  /** SEV_FEATURES of every VMSA; default 0x1 (SNPActive). */
  readonly guestFeatures?: bigint;
  readonly hash?: MeasureHash;
  /**
   * Relaxation, off by default: accept an OVMF without SEV metadata (QEMU refuses to launch an
   * SNP guest from one, but sev-snp-measure still computes a digest: OVMF pages + VMSAs only).
   */
  readonly allowNoSevMetadata?: boolean;
}

export interface SnpMeasureStep {
  readonly what: string;
  readonly gpa: string;
  readonly size: number;
  readonly pageType: PageTypeName;
  readonly pages: number;
}

export interface SnpMeasureResult {
  readonly digest: Uint8Array;
  /** The digest after the OVMF pages (what `--snp-ovmf-hash` takes). */
  readonly ovmfHash: Uint8Array;
  /** The digest after the OVMF and metadata pages, before the VMSAs. */
  readonly preVmsaDigest: Uint8Array;
  readonly ovmfGpa: number;
  readonly ovmfSize: number;
  readonly resetEip: number;
  readonly sevHashTableGpa: number | undefined;
  readonly hashes: SevHashes | undefined;
  readonly steps: readonly SnpMeasureStep[];
  /** SHA-384 of the BSP VMSA page and (with more than one vCPU) of the AP VMSA page. */
  readonly vmsaBspSha384: Uint8Array;
  readonly vmsaApSha384: Uint8Array | undefined;
  readonly vcpus: number;
  readonly vcpuSig: bigint;
  readonly vmmType: VmmType;
  readonly guestFeatures: bigint;
  /** Relaxations used (empty by default). */
  readonly relaxations: readonly string[];
}

const U64_MAX = (1n << 64n) - 1n;

export const DEFAULT_GUEST_FEATURES = 0x1n;

/** Checks the inputs that do not depend on the image (vCPUs, features, signature). */
function checkScalars(input: SnpMeasureInput): { vmm: VmmType; features: bigint; sig: bigint } {
  const vmm = parseVmmType(input.vmmType ?? 'QEMU');
  if (!Number.isInteger(input.vcpus) || input.vcpus < 1 || input.vcpus > MAX_VCPUS) {
    fail('usage', 'vcpus', `an integer 1..${MAX_VCPUS}`, input.vcpus);
  }
  const features = input.guestFeatures ?? DEFAULT_GUEST_FEATURES;
  if (features < 0n || features > U64_MAX) fail('usage', 'guest_features', 'a 64-bit unsigned value', features);
  if (vmm === 'QEMU' && input.vcpuSig === undefined) {
    fail('usage', 'vcpu_sig', 'a vCPU signature or type (QEMU puts it in RDX)', 'none');
  }
  const sig = input.vcpuSig ?? 0n;
  if (sig < 0n || sig > U64_MAX) fail('usage', 'vcpu_sig', 'a 64-bit unsigned value', sig);
  return { vmm, features, sig };
}

const hex48 = (n: number): string => `0x${n.toString(16)}`;

export function measureSnp(input: SnpMeasureInput): SnpMeasureResult {
  const hash = input.hash ?? nobleMeasureHash;
  const { vmm, features, sig } = checkScalars(input);
  if (input.kernel === undefined && input.hashes === undefined) {
    if (input.initrd !== undefined) fail('usage', 'initrd', 'a kernel with it', 'an initrd without a kernel');
    if (input.append !== undefined) fail('usage', 'append', 'a kernel with it', 'a command line without a kernel');
  }
  const img: OvmfImage = parseOvmf(input.ovmf, { requireSevMetadata: input.allowNoSevMetadata !== true });
  const resetEip = tableU32(img, GUID.sevEsResetBlock, 'sev_es_reset_block');
  if (resetEip === undefined) {
    throw new ProtocolError(
      'evidence_missing',
      `ovmf.sev_es_reset_block: expected the SEV-ES reset block entry (${GUID.sevEsResetBlock}) in the footer table, got none`,
      'ovmf.sev_es_reset_block',
    );
  }
  if (resetEip === 0 && input.vcpus > 1) {
    fail('malformed', 'ovmf.sev_es_reset_block', 'a non-zero AP reset address for more than one vCPU', 0);
  }
  const direct = input.kernel !== undefined || input.hashes !== undefined;
  const kernelSection = img.sections.find((s) => s.type === 'SNP_KERNEL_HASHES');
  if (direct && kernelSection === undefined) {
    throw new ProtocolError(
      'evidence_missing',
      "kernel: expected an OVMF whose SEV metadata has an SNP_KERNEL_HASHES section (the AmdSev build), got an image without one: this OVMF cannot measure a kernel, initrd or command line",
      'kernel',
    );
  }
  let tableGpa: number | undefined;
  let hashes: SevHashes | undefined;
  if (direct) {
    tableGpa = tableU32(img, GUID.sevHashTableRv, 'sev_hash_table');
    if (tableGpa === undefined) {
      throw new ProtocolError(
        'evidence_missing',
        `ovmf.sev_hash_table: expected the SEV hash table entry (${GUID.sevHashTableRv}) in the footer table, got none`,
        'ovmf.sev_hash_table',
      );
    }
    hashes = input.hashes ?? sevHashes(input.kernel!, input.initrd, input.append, hash);
    if (kernelSection!.size !== PAGE_SIZE) fail('bad_length', 'ovmf.sev_metadata.SNP_KERNEL_HASHES.size', PAGE_SIZE, kernelSection!.size);
  }

  const steps: SnpMeasureStep[] = [];
  const step = (what: string, gpa: number, size: number, pageType: PageTypeName, pages: number): void => {
    steps.push({ what, gpa: hex48(gpa), size, pageType, pages });
  };

  let ctx: SnpLaunchDigest;
  if (input.ovmfHash !== undefined) {
    ctx = new SnpLaunchDigest(hash, input.ovmfHash);
    step('OVMF (published digest, image pages not hashed)', img.gpa, img.data.length, 'normal', 0);
  } else {
    if (img.data.length % PAGE_SIZE !== 0) fail('bad_length', 'ovmf', 'a multiple of 4096 bytes', img.data.length);
    ctx = new SnpLaunchDigest(hash);
    ctx.updateNormalPages(img.gpa, img.data);
    step('OVMF image', img.gpa, img.data.length, 'normal', img.data.length / PAGE_SIZE);
  }
  const ovmfHash = ctx.digest();

  const section = (s: { gpa: number; size: number; type: SectionTypeName }): void => {
    switch (s.type) {
      case 'SNP_SEC_MEMORY':
      case 'SVSM_CAA': {
        const t = s.type === 'SNP_SEC_MEMORY' && vmm === 'gce' ? 'unmeasured' : 'zero';
        ctx.updateEmptyPages(t, s.gpa, s.size);
        step(s.type, s.gpa, s.size, t, s.size / PAGE_SIZE);
        return;
      }
      case 'SNP_SECRETS':
        ctx.updateSinglePage('secrets', s.gpa);
        step(s.type, s.gpa, s.size, 'secrets', 1);
        return;
      case 'CPUID':
        ctx.updateSinglePage('cpuid', s.gpa);
        step(s.type, s.gpa, s.size, 'cpuid', 1);
        return;
      case 'SNP_KERNEL_HASHES':
        if (hashes !== undefined) {
          ctx.updateNormalPages(s.gpa, sevHashesPage(hashes, tableGpa! & 0xfff));
          step('SNP_KERNEL_HASHES (SEV hashes table)', s.gpa, s.size, 'normal', 1);
        } else {
          ctx.updateEmptyPages('zero', s.gpa, s.size);
          step('SNP_KERNEL_HASHES (no kernel)', s.gpa, s.size, 'zero', s.size / PAGE_SIZE);
        }
        return;
    }
  };
  for (const s of img.sections) {
    // EC2 measures the CPUID pages last, after every other section.
    if (s.type === 'CPUID' && vmm === 'ec2') continue;
    section(s);
  }
  if (vmm === 'ec2') for (const s of img.sections) if (s.type === 'CPUID') section(s);

  const preVmsa = ctx.digest();
  const bsp = buildVmsaPage({ eip: 0xffff_fff0, sevFeatures: features, vcpuSig: sig, vmm });
  const ap = input.vcpus > 1 ? buildVmsaPage({ eip: resetEip, sevFeatures: features, vcpuSig: sig, vmm }) : undefined;
  for (let i = 0; i < input.vcpus; i++) ctx.updateVmsa(i === 0 ? bsp : ap!);
  step(`VMSA × ${input.vcpus} (BSP${input.vcpus > 1 ? ` + ${input.vcpus - 1} AP` : ''})`, VMSA_GPA, PAGE_SIZE, 'vmsa', input.vcpus);

  return {
    digest: ctx.digest(),
    ovmfHash,
    preVmsaDigest: preVmsa,
    ovmfGpa: img.gpa,
    ovmfSize: img.data.length,
    resetEip,
    sevHashTableGpa: tableGpa,
    hashes,
    steps,
    vmsaBspSha384: hash('SHA-384', bsp),
    vmsaApSha384: ap === undefined ? undefined : hash('SHA-384', ap),
    vcpus: input.vcpus,
    vcpuSig: sig,
    vmmType: vmm,
    guestFeatures: features,
    relaxations: input.allowNoSevMetadata === true && !img.table.has(GUID.sevMetadata) ? ['allow-no-sev-metadata'] : [],
  };
}

/** The OVMF digest alone (`sev-snp-measure --mode snp:ovmf-hash`). */
export function snpOvmfHash(ovmf: Uint8Array, hash: MeasureHash = nobleMeasureHash): Uint8Array {
  const img = parseOvmf(ovmf, { requireSevMetadata: false });
  if (img.data.length % PAGE_SIZE !== 0) fail('bad_length', 'ovmf', 'a multiple of 4096 bytes', img.data.length);
  const ctx = new SnpLaunchDigest(hash);
  ctx.updateNormalPages(img.gpa, img.data);
  return ctx.digest();
}
