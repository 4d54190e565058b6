/**
 * Explaining an SEV-SNP measurement mismatch: given the MEASUREMENT a report carries and the
 * inputs someone believes were launched, recompute; when it differs, search the inputs a launch
 * commonly gets wrong (vCPU count, vCPU type, guest features, VMM type, whether the kernel hashes
 * page was filled) and report the candidate closest to the given inputs that reproduces the value.
 *
 * Cost: the OVMF is hashed once (its digest seeds every candidate), the metadata pages once per
 * (VMM type × direct boot or not), and each vCPU count extends the previous one by a single VMSA.
 * If nothing matches, the OVMF image or the kernel/initrd/cmdline bytes differ (their hashes
 * cannot be searched), and the result says so.
 */
import { fail } from '../errors';
import { measureSnp, SnpLaunchDigest, type MeasureHash, type SnpMeasureInput } from './snp';
import { buildVmsaPage, cpuSignature, VCPU_TYPES, type VmmType, VMM_TYPES } from './vmsa';

export interface ExplainOptions {
  /** Largest vCPU count tried (default: max(64, the given count)). */
  readonly maxVcpus?: number;
  /** Guest features values tried besides the given one (default 0x1, 0x21, 0x0, 0x3, 0x23). */
  readonly guestFeatures?: readonly bigint[];
}

export type ExplainInput = 'vcpus' | 'vcpuSig' | 'guestFeatures' | 'vmmType' | 'kernelHashes';

export interface ExplainDifference {
  readonly input: ExplainInput;
  readonly given: string;
  readonly found: string;
}

export interface ExplainResult {
  readonly expected: Uint8Array;
  readonly computed: Uint8Array;
  /** The given inputs reproduce the expected value. */
  readonly match: boolean;
  /** When they do not: the fewest input changes that reproduce it (null: none found). */
  readonly differences: readonly ExplainDifference[] | null;
  readonly candidatesTried: number;
  /** Plain-language conclusion. */
  readonly verdict: string;
}

const hx = (n: bigint): string => `0x${n.toString(16)}`;

/** Distinct signatures of the known vCPU types, with the names that share each. */
function signatureNames(): Map<bigint, string> {
  const m = new Map<bigint, string>();
  for (const [name, [f, mo, st]] of Object.entries(VCPU_TYPES)) {
    const sig = cpuSignature(f, mo, st);
    const prev = m.get(sig);
    // Prefer the shortest (family) name, e.g. "EPYC-Milan" over "EPYC-Milan-v2".
    if (prev === undefined || name.length < prev.length) m.set(sig, name);
  }
  return m;
}

export function explainSnpMeasurement(
  expected: Uint8Array,
  input: SnpMeasureInput,
  opts: ExplainOptions = {},
): ExplainResult {
  if (expected.length !== 48) fail('bad_length', 'measurement', 48, expected.length);
  const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
  const given = measureSnp(input);
  const hash: MeasureHash | undefined = input.hash;
  if (same(given.digest, expected)) {
    return {
      expected,
      computed: given.digest,
      match: true,
      differences: [],
      candidatesTried: 1,
      verdict: 'the given inputs reproduce the measurement',
    };
  }
  const maxVcpus = Math.max(opts.maxVcpus ?? 64, input.vcpus);
  const sigNames = signatureNames();
  const givenVmm = given.vmmType;
  const givenSig = given.vcpuSig;
  const givenFeatures = given.guestFeatures;
  const sigs = new Set<bigint>([givenSig, ...sigNames.keys()]);
  const features = new Set<bigint>([givenFeatures, ...(opts.guestFeatures ?? [0x1n, 0x21n, 0x0n, 0x3n, 0x23n])]);
  const direct = input.kernel !== undefined || input.hashes !== undefined;
  const sigName = (s: bigint): string => (sigNames.has(s) ? `${hx(s)} (${sigNames.get(s)!})` : hx(s));

  let best: ExplainDifference[] | null = null;
  let tried = 0;
  const seed = given.ovmfHash;
  for (const vmm of VMM_TYPES as readonly VmmType[]) {
    for (const withKernel of direct ? [true, false] : [false]) {
      // The prefix (OVMF digest + metadata pages) for this VMM and kernel-hashes choice.
      const base: SnpMeasureInput = {
        ovmf: input.ovmf,
        ovmfHash: seed,
        vcpus: 1,
        vcpuSig: givenSig,
        vmmType: vmm,
        guestFeatures: givenFeatures,
        ...(hash !== undefined ? { hash } : {}),
        ...(input.allowNoSevMetadata === true ? { allowNoSevMetadata: true } : {}),
        ...(withKernel && input.kernel !== undefined ? { kernel: input.kernel } : {}),
        ...(withKernel && input.initrd !== undefined ? { initrd: input.initrd } : {}),
        ...(withKernel && input.append !== undefined ? { append: input.append } : {}),
        ...(withKernel && input.hashes !== undefined ? { hashes: input.hashes } : {}),
      };
      const prefix = measureSnp(base);
      // ec2 and gce ignore the signature (RDX is fixed): try only the given one there.
      for (const sig of vmm === 'QEMU' ? sigs : new Set([givenSig])) {
        for (const f of features) {
          const bsp = buildVmsaPage({ eip: 0xffff_fff0, sevFeatures: f, vcpuSig: sig, vmm });
          const ap = buildVmsaPage({ eip: prefix.resetEip, sevFeatures: f, vcpuSig: sig, vmm });
          const ctx = new SnpLaunchDigest(hash, prefix.preVmsaDigest);
          for (let n = 1; n <= maxVcpus; n++) {
            ctx.updateVmsa(n === 1 ? bsp : ap);
            tried++;
            if (!same(ctx.digest(), expected)) continue;
            const d: ExplainDifference[] = [];
            if (n !== input.vcpus) d.push({ input: 'vcpus', given: String(input.vcpus), found: String(n) });
            if (vmm !== givenVmm) d.push({ input: 'vmmType', given: givenVmm, found: vmm });
            if (vmm === 'QEMU' && sig !== givenSig) d.push({ input: 'vcpuSig', given: sigName(givenSig), found: sigName(sig) });
            if (f !== givenFeatures) d.push({ input: 'guestFeatures', given: hx(givenFeatures), found: hx(f) });
            if (withKernel !== direct) {
              d.push({ input: 'kernelHashes', given: 'kernel, initrd and cmdline hashed', found: 'no kernel hashes (zero page)' });
            }
            if (best === null || d.length < best.length) best = d;
          }
        }
      }
    }
  }
  const verdict =
    best === null
      ? `no candidate reproduces the measurement (${tried} tried: vCPUs 1..${maxVcpus}, ${sigs.size} vCPU signatures, ${features.size} guest-features values, VMM QEMU/ec2/gce${direct ? ', with and without kernel hashes' : ''}): the OVMF image${direct ? ' or the kernel, initrd or command line bytes' : ''} differ`
      : `the measurement matches when ${best.map((x) => `${x.input} is ${x.found} (given ${x.given})`).join(', ')}`;
  return { expected, computed: given.digest, match: false, differences: best, candidatesTried: tried, verdict };
}
