/**
 * The initial VMSA (SEV-ES save area, AMD APM vol. 2 table B-4) that the hypervisor measures for
 * each vCPU of an SEV-SNP guest, as KVM (host Linux ≥ 6.10) and QEMU, AWS EC2 or Google GCE set it
 * up. Only non-zero fields are written; everything else in the 4 KiB page is zero.
 *
 * Differences by VMM (facts from the reference tool's test vectors and docs):
 *   QEMU: CS attr 0x9b, SS 0x93, TR 0x8b, RDX = vCPU signature, MXCSR 0x1f80, FCW 0x37f.
 *   ec2:  CS 0x9b (0x9a for the BSP), SS 0x92, TR 0x83, RDX 0x600, MXCSR 0, FCW 0.
 *   gce:  as QEMU's attributes, but RDX 0x600, MXCSR 0, FCW 0 and G_PAT 0x00070106.
 */
import { fail } from '../errors';

export type VmmType = 'QEMU' | 'ec2' | 'gce';
export const VMM_TYPES: readonly VmmType[] = ['QEMU', 'ec2', 'gce'];

export function parseVmmType(s: string): VmmType {
  if ((VMM_TYPES as readonly string[]).includes(s)) return s as VmmType;
  return fail('usage', 'vmm_type', VMM_TYPES.join(' | '), s);
}

// Field offsets in the save area.
const OFF = {
  es: 0x00,
  cs: 0x10,
  ss: 0x20,
  ds: 0x30,
  fs: 0x40,
  gs: 0x50,
  gdtr: 0x60,
  ldtr: 0x70,
  idtr: 0x80,
  tr: 0x90,
  efer: 0xd0,
  cr4: 0x148,
  cr0: 0x158,
  dr7: 0x160,
  dr6: 0x168,
  rflags: 0x170,
  rip: 0x178,
  gPat: 0x268,
  rdx: 0x310,
  sevFeatures: 0x3b0,
  xcr0: 0x3e8,
  mxcsr: 0x408,
  x87Fcw: 0x410,
} as const;

export interface VmsaInput {
  readonly eip: number;
  readonly sevFeatures: bigint;
  readonly vcpuSig: bigint;
  readonly vmm: VmmType;
}

/** The 4 KiB VMSA page for one vCPU starting at `eip` (BSP: 0xfffffff0; APs: the reset block). */
export function buildVmsaPage(v: VmsaInput): Uint8Array {
  const page = new Uint8Array(4096);
  const d = new DataView(page.buffer);
  // vmcb_seg: u16 selector, u16 attrib, u32 limit, u64 base
  const seg = (off: number, selector: number, attrib: number, limit: number, base: number): void => {
    d.setUint16(off, selector, true);
    d.setUint16(off + 2, attrib, true);
    d.setUint32(off + 4, limit, true);
    d.setBigUint64(off + 8, BigInt(base), true);
  };
  let cs = 0x9b;
  let ss = 0x93;
  let tr = 0x8b;
  let rdx = v.vcpuSig;
  let mxcsr = 0x1f80;
  let fcw = 0x37f;
  let gPat = 0x0007_0406_0007_0406n; // PAT MSR reset value (APM vol. 2 §A.3)
  if (v.vmm === 'ec2') {
    if (v.eip === 0xffff_fff0) cs = 0x9a;
    ss = 0x92;
    tr = 0x83;
    rdx = 0x600n;
    mxcsr = 0;
    fcw = 0;
  } else if (v.vmm === 'gce') {
    gPat = 0x0007_0106n; // GCE's hypervisor programs its own PAT
    rdx = 0x600n;
    mxcsr = 0;
    fcw = 0;
  }
  seg(OFF.es, 0, 0x93, 0xffff, 0);
  seg(OFF.cs, 0xf000, cs, 0xffff, (v.eip & 0xffff_0000) >>> 0);
  seg(OFF.ss, 0, ss, 0xffff, 0);
  seg(OFF.ds, 0, 0x93, 0xffff, 0);
  seg(OFF.fs, 0, 0x93, 0xffff, 0);
  seg(OFF.gs, 0, 0x93, 0xffff, 0);
  seg(OFF.gdtr, 0, 0, 0xffff, 0);
  seg(OFF.idtr, 0, 0, 0xffff, 0);
  seg(OFF.ldtr, 0, 0x82, 0xffff, 0);
  seg(OFF.tr, 0, tr, 0xffff, 0);
  d.setBigUint64(OFF.efer, 0x1000n, true); // EFER.SVME (KVM)
  d.setBigUint64(OFF.cr4, 0x40n, true); // CR4.MCE (KVM)
  d.setBigUint64(OFF.cr0, 0x10n, true);
  d.setBigUint64(OFF.dr7, 0x400n, true);
  d.setBigUint64(OFF.dr6, 0xffff_0ff0n, true);
  d.setBigUint64(OFF.rflags, 0x2n, true);
  d.setBigUint64(OFF.rip, BigInt(v.eip & 0xffff), true);
  d.setBigUint64(OFF.gPat, gPat, true);
  d.setBigUint64(OFF.rdx, rdx, true);
  d.setBigUint64(OFF.sevFeatures, v.sevFeatures, true);
  d.setBigUint64(OFF.xcr0, 0x1n, true);
  d.setUint32(OFF.mxcsr, mxcsr, true);
  d.setUint16(OFF.x87Fcw, fcw, true);
  return page;
}

// ---- vCPU signatures (CPUID Fn0000_0001_EAX; AMD pub. 25481) ----

/**
 * The 32-bit CPUID signature of a family/model/stepping (extended family = family − 0xf when
 * family > 0xf; model split in low/extended nibbles; out-of-range bits are masked off).
 */
export function cpuSignature(family: number, model: number, stepping: number): bigint {
  for (const [n, x] of [
    ['vcpu_family', family],
    ['vcpu_model', model],
    ['vcpu_stepping', stepping],
  ] as const) {
    if (!Number.isInteger(x) || x < 0 || x > 0x7fff_ffff) fail('usage', n, 'a non-negative integer', x);
  }
  const familyLow = family > 0xf ? 0xf : family;
  const familyHigh = family > 0xf ? (family - 0xf) & 0xff : 0;
  const sig =
    (familyHigh << 20) | (((model >> 4) & 0xf) << 16) | (familyLow << 8) | ((model & 0xf) << 4) | (stepping & 0xf);
  return BigInt(sig >>> 0);
}

/** QEMU's built-in EPYC CPU models and their family/model/stepping. */
export const VCPU_TYPES: Readonly<Record<string, readonly [number, number, number]>> = {
  EPYC: [23, 1, 2],
  'EPYC-v1': [23, 1, 2],
  'EPYC-v2': [23, 1, 2],
  'EPYC-IBPB': [23, 1, 2],
  'EPYC-v3': [23, 1, 2],
  'EPYC-v4': [23, 1, 2],
  'EPYC-Rome': [23, 49, 0],
  'EPYC-Rome-v1': [23, 49, 0],
  'EPYC-Rome-v2': [23, 49, 0],
  'EPYC-Rome-v3': [23, 49, 0],
  'EPYC-Milan': [25, 1, 1],
  'EPYC-Milan-v1': [25, 1, 1],
  'EPYC-Milan-v2': [25, 1, 1],
  'EPYC-Genoa': [25, 17, 0],
  'EPYC-Genoa-v1': [25, 17, 0],
  'EPYC-Turin': [26, 0, 0],
};

export function vcpuTypeSignature(name: string): bigint {
  const fms = Object.prototype.hasOwnProperty.call(VCPU_TYPES, name) ? VCPU_TYPES[name] : undefined;
  if (fms === undefined) return fail('usage', 'vcpu_type', Object.keys(VCPU_TYPES).join(' | '), name);
  return cpuSignature(fms[0], fms[1], fms[2]);
}
