/**
 * `teechat measure ...`: recompute expected measurements from published inputs.
 *
 *   teechat measure snp --ovmf FILE --vcpus N --vcpu-type NAME [--kernel ...]   SEV-SNP launch digest
 *   teechat measure verity FILE [--salt HEX] [...]                             dm-verity root hash
 *
 * Data on stdout (the digest in hex, or `--json` with every input and intermediate value),
 * diagnostics on stderr. Exit 0 on success, 1 on bad input (unreadable file, not an OVMF image,
 * a kernel for an OVMF that cannot measure one), 2 on a usage error. Never a digest on error.
 */
import {
  DEFAULT_GUEST_FEATURES,
  measureSnp,
  snpOvmfHash,
  type SnpMeasureInput,
  type SnpMeasureResult,
} from '../../protocol/measure/snp';
import { cpuSignature, parseVmmType, VCPU_TYPES, vcpuTypeSignature } from '../../protocol/measure/vmsa';
import { measureVerityCommand, VERITY_HELP } from './measure-verity';
import { measureTdxCommand, TDX_MEASURE_HELP } from './measure-tdx';
import { UsageError, parseCli } from '../../protocol-node/args';
import type { CliIo } from './attest-common';
import {
  EXIT_OK,
  EXIT_USAGE,
  guarded,
  nodeMeasureHash,
  parseAutoBaseInt,
  parseDecimal,
  readInput,
} from './measure-common';

export const SNP_MEASURE_HELP = `Usage: teechat measure snp --ovmf FILE --vcpus N (--vcpu-type NAME | --vcpu-sig VALUE |
         --vcpu-family F --vcpu-model M --vcpu-stepping S) [--vmm-type QEMU|ec2|gce]
         [--guest-features VALUE] [--kernel FILE [--initrd FILE] [--append CMDLINE]]
         [--snp-ovmf-hash HEX] [--output-format hex|base64] [--json]

Recomputes the AMD SEV-SNP launch digest (the report's MEASUREMENT, 48 bytes), bit for bit as
virtee/sev-snp-measure --mode snp does: the OVMF pages, the OVMF SEV metadata sections (zero,
secrets, CPUID and kernel-hashes pages) and one VMSA page per vCPU. See docs/MEASUREMENTS.md.

Options (names as in sev-snp-measure):
  --ovmf FILE               the OVMF image the VM boots (OVMF.fd; AmdSev build for --kernel)
  --vcpus N                 number of vCPUs (1..4096)
  --vcpu-type NAME          QEMU CPU model: ${Object.keys(VCPU_TYPES).join(', ')}
  --vcpu-sig VALUE          CPUID signature instead of a type (e.g. 0x800f12)
  --vcpu-family F --vcpu-model M --vcpu-stepping S   signature from family/model/stepping
                            (a signature is needed for QEMU; ec2 and gce use RDX 0x600)
  --vmm-type TYPE           QEMU (default), ec2 or gce: the initial VMSA differs per VMM
  --guest-features VALUE    the VMSA SEV_FEATURES (default 0x1; host kernels 6.6-6.7 used 0x21);
                            read like Python's int(x, 0): 0x21 is hex, 21 is decimal
  --kernel FILE             direct boot: kernel (needs an OVMF with SNP_KERNEL_HASHES)
  --initrd FILE             direct boot: initrd (with --kernel)
  --append CMDLINE          direct boot: kernel command line (with --kernel)
  --snp-ovmf-hash HEX       start from this published OVMF digest (96 hex digits) instead of
                            hashing the image's pages (the image is still read for its metadata)
  --mode snp|snp:ovmf-hash  snp (default); snp:ovmf-hash prints only the OVMF digest
  --allow-no-sev-metadata   RELAXATION (off by default): measure an OVMF without SEV metadata
                            (QEMU cannot launch SNP from it; sev-snp-measure still gives a value)
  --output-format FMT       hex (default) or base64
  -v, --verbose             print "Calculated SEV_SNP guest measurement: …" as sev-snp-measure -v
  --json                    every input and intermediate value as JSON
  -h, --help

Exit status: 0 digest printed, 1 bad input (unreadable file, not an OVMF image, kernel without a
kernel-hashes section, ...), 2 usage error.
`;

export const MEASURE_HELP = `Usage: teechat measure <snp|verity|tdx> [options]

  snp      AMD SEV-SNP launch digest from OVMF, kernel/initrd/cmdline, vCPUs, VMM type
  verity   dm-verity root hash of a file (compatible with veritysetup format)
  tdx      Intel TDX MRTD of a TDVF image; RTMR1/RTMR2 of a kernel/initrd/cmdline direct boot;
           RTMR event trace and diff from a CCEL log

Run "teechat measure <kind> --help" for its options. See docs/MEASUREMENTS.md.
`;

const SNP_OPTIONS = {
  ovmf: { type: 'string' },
  vcpus: { type: 'string' },
  'vcpu-type': { type: 'string' },
  'vcpu-sig': { type: 'string' },
  'vcpu-family': { type: 'string' },
  'vcpu-model': { type: 'string' },
  'vcpu-stepping': { type: 'string' },
  'vmm-type': { type: 'string' },
  'guest-features': { type: 'string' },
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  append: { type: 'string' },
  'snp-ovmf-hash': { type: 'string' },
  mode: { type: 'string' },
  'output-format': { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  'allow-no-sev-metadata': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface SnpCliInput {
  readonly vcpuSig: bigint | undefined;
  readonly vcpuSigSource: string;
}

/** The vCPU signature: family/model/stepping, then --vcpu-sig, then --vcpu-type (as the reference). */
export function resolveVcpuSig(v: {
  'vcpu-type'?: string | undefined;
  'vcpu-sig'?: string | undefined;
  'vcpu-family'?: string | undefined;
  'vcpu-model'?: string | undefined;
  'vcpu-stepping'?: string | undefined;
}): SnpCliInput {
  if (v['vcpu-type'] !== undefined && !Object.prototype.hasOwnProperty.call(VCPU_TYPES, v['vcpu-type'])) {
    throw new UsageError(
      `--vcpu-type: expected one of ${Object.keys(VCPU_TYPES).join(', ')}, got ${JSON.stringify(v['vcpu-type'])}`,
    );
  }
  if (v['vcpu-family'] !== undefined) {
    if (v['vcpu-model'] === undefined || v['vcpu-stepping'] === undefined) {
      throw new UsageError('--vcpu-family: expected --vcpu-model and --vcpu-stepping with it, got only some');
    }
    const f = parseDecimal(v['vcpu-family'], '--vcpu-family');
    const m = parseDecimal(v['vcpu-model'], '--vcpu-model');
    const s = parseDecimal(v['vcpu-stepping'], '--vcpu-stepping');
    return { vcpuSig: cpuSignature(f, m, s), vcpuSigSource: `family ${f} model ${m} stepping ${s}` };
  }
  if (v['vcpu-sig'] !== undefined) {
    return { vcpuSig: parseAutoBaseInt(v['vcpu-sig'], '--vcpu-sig'), vcpuSigSource: '--vcpu-sig' };
  }
  if (v['vcpu-type'] !== undefined) {
    return { vcpuSig: vcpuTypeSignature(v['vcpu-type']), vcpuSigSource: `vcpu type ${v['vcpu-type']}` };
  }
  return { vcpuSig: undefined, vcpuSigSource: 'none' };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const hexBig = (n: bigint): string => `0x${n.toString(16)}`;

function snpJson(r: SnpMeasureResult, inputs: Record<string, unknown>): unknown {
  return {
    kind: 'sev-snp',
    measurement: hex(r.digest),
    inputs: {
      ...inputs,
      vcpus: r.vcpus,
      vcpuSig: hexBig(r.vcpuSig),
      vmmType: r.vmmType,
      guestFeatures: hexBig(r.guestFeatures),
    },
    ovmf: {
      gpa: `0x${r.ovmfGpa.toString(16)}`,
      size: r.ovmfSize,
      snpOvmfHash: hex(r.ovmfHash),
      sevEsResetEip: `0x${r.resetEip.toString(16)}`,
      sevHashTableGpa: r.sevHashTableGpa === undefined ? null : `0x${r.sevHashTableGpa.toString(16)}`,
    },
    sevHashes:
      r.hashes === undefined
        ? null
        : { kernel: hex(r.hashes.kernel), initrd: hex(r.hashes.initrd), cmdline: hex(r.hashes.cmdline) },
    vmsa: { bspSha384: hex(r.vmsaBspSha384), apSha384: r.vmsaApSha384 === undefined ? null : hex(r.vmsaApSha384) },
    steps: r.steps,
    relaxations: r.relaxations,
  };
}

/** Parses the flags of `measure snp` into the protocol input (reads the files). */
export function snpInputFromArgs(
  argv: readonly string[],
  extraOptions: Record<string, { type: 'string' | 'boolean' }> = {},
): {
  run: () => SnpMeasureResult;
  input: () => SnpMeasureInput;
  extra: Record<string, string | boolean | undefined>;
  ovmfOnly: boolean;
  verbose: boolean;
  json: boolean;
  help: boolean;
  format: 'hex' | 'base64';
  inputs: Record<string, unknown>;
  ovmf: Uint8Array;
} {
  const parsed = parseCli(argv, { ...SNP_OPTIONS, ...extraOptions }, false);
  const v = parsed.values as { [K in keyof typeof SNP_OPTIONS]?: (typeof SNP_OPTIONS)[K]['type'] extends 'string' ? string : boolean };
  const extra: Record<string, string | boolean | undefined> = {};
  for (const k of Object.keys(extraOptions)) extra[k] = (parsed.values as Record<string, string | boolean | undefined>)[k];
  const help = v.help === true;
  const json = v.json === true;
  const verbose = v.verbose === true;
  const format = v['output-format'] ?? 'hex';
  if (format !== 'hex' && format !== 'base64') {
    throw new UsageError(`--output-format: expected hex or base64, got ${JSON.stringify(format)}`);
  }
  const mode = v.mode ?? 'snp';
  if (mode !== 'snp' && mode !== 'snp:ovmf-hash') {
    throw new UsageError(`--mode: expected snp or snp:ovmf-hash, got ${JSON.stringify(mode)}`);
  }
  const dummy = () => {
    throw new UsageError('unreachable');
  };
  if (help) return { run: dummy, input: dummy, extra, ovmfOnly: false, verbose, json, help, format, inputs: {}, ovmf: new Uint8Array(0) };
  if (v.ovmf === undefined) throw new UsageError('--ovmf: expected a file, got nothing');
  if (mode === 'snp:ovmf-hash') {
    const ovmf = readInput(v.ovmf, '--ovmf');
    return {
      run: dummy,
      input: dummy,
      extra,
      ovmfOnly: true,
      verbose,
      json,
      help,
      format,
      inputs: { ovmf: v.ovmf, ovmfSha256: hex(nodeMeasureHash('SHA-256', ovmf)) },
      ovmf,
    };
  }
  if (v.initrd !== undefined && v.kernel === undefined) throw new UsageError('--initrd: expected --kernel with it, got none');
  if (v.append !== undefined && v.kernel === undefined) throw new UsageError('--append: expected --kernel with it, got none');
  if (v.vcpus === undefined) throw new UsageError('--vcpus: expected a number of vCPUs, got nothing');
  const vcpus = parseDecimal(v.vcpus, '--vcpus');
  if (vcpus < 1) throw new UsageError(`--vcpus: expected at least 1, got ${vcpus}`);
  let vmmType;
  try {
    vmmType = parseVmmType(v['vmm-type'] ?? 'QEMU');
  } catch {
    throw new UsageError(`--vmm-type: expected QEMU, ec2 or gce, got ${JSON.stringify(v['vmm-type'])}`);
  }
  const sig = resolveVcpuSig(v);
  if (sig.vcpuSig === undefined && vmmType === 'QEMU') {
    throw new UsageError('--vcpu-type: expected --vcpu-type, --vcpu-sig or --vcpu-family/--vcpu-model/--vcpu-stepping for QEMU, got none');
  }
  const guestFeatures =
    v['guest-features'] === undefined ? DEFAULT_GUEST_FEATURES : parseAutoBaseInt(v['guest-features'], '--guest-features');
  let ovmfHash: Uint8Array | undefined;
  if (v['snp-ovmf-hash'] !== undefined) {
    const h = v['snp-ovmf-hash'].trim();
    if (!/^[0-9a-fA-F]{96}$/.test(h)) {
      throw new UsageError(`--snp-ovmf-hash: expected 96 hex digits (48 bytes), got ${JSON.stringify(v['snp-ovmf-hash'])}`);
    }
    ovmfHash = new Uint8Array(Buffer.from(h, 'hex'));
  }
  // Read every file before computing anything (an unreadable file is an error, never a digest).
  // As in the reference: an empty --kernel means no direct boot (initrd and cmdline are then not
  // measured), an empty --initrd hashes as empty, an empty --append as the lone NUL.
  const direct = v.kernel !== undefined && v.kernel !== '';
  const ovmf = readInput(v.ovmf, '--ovmf');
  const kernel = direct ? readInput(v.kernel!, '--kernel') : undefined;
  const initrd = direct && v.initrd !== undefined && v.initrd !== '' ? readInput(v.initrd, '--initrd') : undefined;
  const append = direct && v.append !== '' ? v.append : undefined;
  const inputs: Record<string, unknown> = {
    ovmf: v.ovmf,
    ovmfSha256: hex(nodeMeasureHash('SHA-256', ovmf)),
    snpOvmfHash: v['snp-ovmf-hash'] ?? null,
    kernel: v.kernel ?? null,
    initrd: v.initrd ?? null,
    append: direct ? (v.append ?? null) : null,
    vcpuSigSource: sig.vcpuSigSource,
  };
  const input = (): SnpMeasureInput => ({
        ovmf,
        ...(ovmfHash !== undefined ? { ovmfHash } : {}),
        ...(kernel !== undefined ? { kernel } : {}),
        ...(initrd !== undefined ? { initrd } : {}),
        ...(append !== undefined ? { append } : {}),
        vcpus,
        ...(sig.vcpuSig !== undefined ? { vcpuSig: sig.vcpuSig } : {}),
        vmmType,
        guestFeatures,
        hash: nodeMeasureHash,
        allowNoSevMetadata: v['allow-no-sev-metadata'] === true,
  });
  return {
    run: () => measureSnp(input()),
    input,
    extra,
    ovmfOnly: false,
    verbose,
    json,
    help,
    format,
    inputs,
    ovmf,
  };
}

function formatDigest(d: Uint8Array, format: 'hex' | 'base64'): string {
  return format === 'hex' ? hex(d) : Buffer.from(d).toString('base64');
}

export function measureSnpCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'measure snp', () => {
    const a = snpInputFromArgs(argv);
    if (a.help) {
      io.out(SNP_MEASURE_HELP);
      return EXIT_OK;
    }
    if (a.ovmfOnly) {
      const d = snpOvmfHash(a.ovmf, nodeMeasureHash);
      io.out(a.json ? `${JSON.stringify({ kind: 'sev-snp-ovmf', snpOvmfHash: hex(d), inputs: a.inputs }, null, 2)}\n` : `${formatDigest(d, a.format)}\n`);
      return EXIT_OK;
    }
    const r = a.run();
    for (const x of r.relaxations) io.err(`teechat measure snp: RELAXATION ${x}: the OVMF has no SEV metadata; QEMU cannot launch an SNP guest from it\n`);
    const line = a.verbose ? `Calculated SEV_SNP guest measurement: ${formatDigest(r.digest, a.format)}` : formatDigest(r.digest, a.format);
    io.out(a.json ? `${JSON.stringify(snpJson(r, a.inputs), null, 2)}\n` : `${line}\n`);
    return EXIT_OK;
  });
}

export function measureCommand(argv: readonly string[], io: CliIo): Promise<number> | number {
  const [kind, ...rest] = argv;
  switch (kind) {
    case 'snp':
      return measureSnpCommand(rest, io);
    case 'verity':
      return measureVerityCommand(rest, io);
    case 'tdx':
      return measureTdxCommand(rest, io);
    case '--help':
    case '-h':
    case 'help':
      io.out(`${MEASURE_HELP}\n${SNP_MEASURE_HELP}\n${VERITY_HELP}\n${TDX_MEASURE_HELP}`);
      return EXIT_OK;
    default:
      io.err(`teechat measure: unknown kind ${JSON.stringify(kind ?? '')}\n${MEASURE_HELP}`);
      return EXIT_USAGE;
  }
}
