/**
 * `teechat measure` benchmark (issue target: a 4 MiB OVMF + 12 MiB kernel + 60 MiB initrd measured
 * in under 1 s).
 *
 * - measure_snp_ms: the whole SEV-SNP launch digest (OVMF pages, SHA-256 of kernel, initrd and
 *   cmdline, metadata pages, 4 VMSAs) with OpenSSL hashes, as `teechat measure snp` runs it; inputs
 *   are synthetic in-memory buffers (file reading excluded).
 * - measure_snp_noble_ms: the same with @noble/hashes (the browser/webview path).
 * - measure_snp_ovmf_only_ms: only the 1024 OVMF pages (the per-page PAGE_INFO chain).
 * - sha_floor_ms: SHA-384 of 4 MiB + SHA-256 of 72 MiB alone, the hashing floor the digest cannot
 *   beat; measure_snp_ms / sha_floor_ms shows that hashing, not per-page overhead, dominates.
 * - verity_60mib_ms: dm-verity root hash (sha256, 4 KiB blocks) of the 60 MiB buffer.
 * - measure_tdx_boot_ms: TDX direct boot RTMR1 + RTMR2 (QEMU setup-header patch and Authenticode
 *   SHA-384 of a synthetic 12 MiB PE kernel, SHA-384 of the 60 MiB initrd and the command line)
 *   with OpenSSL hashes, as `teechat measure tdx --kernel` runs it; measure_tdx_boot_noble_ms with
 *   @noble/hashes. Needs nothing from ../shared/.
 * Needs ../shared/measure/ovmf_AmdSev_suffix.bin (the OVMF footer; absent: the suite reports nothing).
 */
import { nodeVerityHasher } from '../../client/cli/measure-verity';
import { createHash } from 'node:crypto';
import { readShared, sharedPath } from '../../test/helpers/shared';
import { makePe } from '../../test/helpers/pe';
import { cpuMs, median } from '../lib';

function filled(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  const v = new Uint32Array(b.buffer);
  for (let i = 0; i < v.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    v[i] = x >>> 0;
  }
  return b;
}

function timeIt(fn: () => unknown, repeats: number): number {
  fn();
  const s: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = cpuMs();
    fn();
    s.push(cpuMs() - t);
  }
  return median(s);
}

async function tdxBoot(quick: boolean): Promise<Record<string, number>> {
  const { measureTdxDirectBoot } = await import('../../protocol/measure/tdx-boot');
  const { nodeMeasureHash } = await import('../../client/cli/measure-common');
  const kernel = makePe({ seed: 2, extra: (12 << 20) - 0x1400 });
  const initrd = filled(60 << 20, 3);
  const input = { kernel, initrd, append: 'console=ttyS0 root=/dev/vda roothash=00', memoryBytes: 16n << 30n };
  return {
    measure_tdx_boot_ms: timeIt(() => measureTdxDirectBoot({ ...input, hash: nodeMeasureHash }), quick ? 3 : 7),
    measure_tdx_boot_noble_ms: timeIt(() => measureTdxDirectBoot(input), quick ? 1 : 3),
  };
}

export default {
  name: 'measure',
  description:
    'teechat measure: SEV-SNP launch digest of 4 MiB OVMF + 12 MiB kernel + 60 MiB initrd; dm-verity of 60 MiB',
  async run({ quick }: { quick: boolean }): Promise<Record<string, number>> {
    const tdx = await tdxBoot(quick);
    if (sharedPath('measure', 'ovmf_AmdSev_suffix.bin') === null) {
      console.error('measure: ../shared/measure/ovmf_AmdSev_suffix.bin is absent; SNP and verity skipped');
      return tdx;
    }
    const { measureSnp, snpOvmfHash } = await import('../../protocol/measure/snp');
    const { vcpuTypeSignature } = await import('../../protocol/measure/vmsa');
    const { verityRootHash } = await import('../../protocol/measure/verity');
    const { nodeMeasureHash } = await import('../../client/cli/measure-common');
    const suffix = new Uint8Array(readShared('measure', 'ovmf_AmdSev_suffix.bin'));
    const ovmf = filled(4 << 20, 1);
    ovmf.set(suffix, ovmf.length - suffix.length);
    const kernel = filled(12 << 20, 2);
    const initrd = filled(60 << 20, 3);
    const input = {
      ovmf,
      kernel,
      initrd,
      append: 'console=ttyS0 root=/dev/vda roothash=00',
      vcpus: 4,
      vcpuSig: vcpuTypeSignature('EPYC-Genoa'),
    };
    const repeats = quick ? 3 : 7;
    const node = timeIt(() => measureSnp({ ...input, hash: nodeMeasureHash }), repeats);
    const noble = timeIt(() => measureSnp(input), quick ? 1 : 3);
    const ovmfOnly = timeIt(() => snpOvmfHash(ovmf, nodeMeasureHash), repeats);
    const floor = timeIt(() => {
      createHash('sha384').update(ovmf).digest();
      createHash('sha256').update(kernel).digest();
      createHash('sha256').update(initrd).digest();
    }, repeats);
    const verity = timeIt(
      () => verityRootHash(initrd, { salt: new Uint8Array(32), hasher: nodeVerityHasher }),
      quick ? 1 : 3,
    );
    return {
      measure_snp_ms: node,
      measure_snp_noble_ms: noble,
      measure_snp_ovmf_only_ms: ovmfOnly,
      sha_floor_ms: floor,
      verity_60mib_ms: verity,
      ...tdx,
    };
  },
};
