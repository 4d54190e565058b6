/** A valid release manifest (JSON value) for tests; override fields per test. */
export function sampleManifest(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schema: 'teechat-release-manifest/v1',
    version: '1.4.2',
    source: {
      repository: 'github.com/teechat/teechat',
      commit: '0123456789abcdef0123456789abcdef01234567',
      tag: 'v1.4.2',
    },
    image: {
      ovmf_sha256: '11'.repeat(32),
      kernel_sha256: '22'.repeat(32),
      initrd_sha256: '33'.repeat(32),
      cmdline: 'console=ttyS0 root=/dev/vda1 roothash=' + '44'.repeat(32),
      cmdline_sha256: '55'.repeat(32),
      vcpu_shapes: [
        { name: 'qemu-8', vcpus: 8, vcpu_type: 'EPYC-v4', vmm: 'qemu', guest_features: '0x1' },
      ],
    },
    expected: {
      snp: [{ shape: 'qemu-8', launch_digest: '8f3a'.padEnd(92, '0') + 'c21d' }],
      tdx: { mrtd: 'aa'.repeat(48), rtmr1: 'bb'.repeat(48), rtmr2: 'cc'.repeat(48) },
      azure: { pcrs: { '4': 'dd'.repeat(32), '11': 'ee'.repeat(32) } },
    },
    model: {
      repository: 'Qwen/Qwen2.5-0.5B-Instruct-GGUF',
      revision: 'fedcba9876543210fedcba9876543210fedcba98',
      file: 'qwen2.5-0.5b-instruct-q4_k_m.gguf',
      sha256: '66'.repeat(32),
      dm_verity_root: null,
    },
    server: { build_sha256: '77'.repeat(32) },
    policy_floors: {
      snp: { minTcb: { bl: 7, snp: 14 }, minFirmware: '1.55' },
      tdx: { minQeSvn: 8 },
    },
    issued_at: '2026-11-30T12:00:00Z',
    ...over,
  };
}
