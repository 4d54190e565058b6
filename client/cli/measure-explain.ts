/**
 * `teechat attest explain`: given an SEV-SNP report (or its MEASUREMENT) and the inputs believed to
 * have been launched, recompute and say which input differs (protocol/measure/explain.ts).
 */
import { parseSnpReport } from '../../protocol/attestation/snp/report';
import { explainSnpMeasurement } from '../../protocol/measure/explain';
import { UsageError } from '../../protocol-node/args';
import type { CliIo } from './attest-common';
import { decodeInput } from './attest-common';
import { EXIT_ERROR, EXIT_OK, guarded, parseDecimal, readInput } from './measure-common';
import { snpInputFromArgs } from './measure';
import { explainTdxCommand } from './explain-tdx';

export const EXPLAIN_HELP = `Usage: teechat attest explain tdx --ccel FILE ...   (TDX RTMR1/RTMR2; "attest explain tdx --help")
       teechat attest explain (--report FILE | --measurement HEX) --ovmf FILE --vcpus N
         (--vcpu-type NAME | ...) [--kernel FILE [--initrd FILE] [--append CMDLINE]]
         [--vmm-type TYPE] [--guest-features VALUE] [--max-vcpus N] [--json]

Recomputes the SEV-SNP launch digest from the given inputs (the flags of "teechat measure snp")
and compares it with the report's MEASUREMENT. When they differ, tries the inputs a launch most
often gets wrong: vCPU count (1..--max-vcpus, default 64), vCPU type, guest features (0x1, 0x21,
0x0, 0x3, 0x23), VMM type (QEMU, ec2, gce) and, with --kernel, an empty kernel-hashes page; and
names the fewest changes that reproduce the value. If none does, the OVMF image or the
kernel/initrd/cmdline bytes differ. The report's signature is NOT checked here (attest verify).

  --report FILE             an SEV-SNP attestation report (binary, hex or base64)
  --measurement HEX         or just its 48-byte MEASUREMENT
  --max-vcpus N             largest vCPU count tried (default 64)
  --json                    the result as JSON

Exit status: 0 the inputs reproduce the measurement, 1 they do not (the explanation is printed),
2 usage error.
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function explainCommand(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv[0] === 'tdx') return explainTdxCommand(argv.slice(1), io);
  return guarded(io, 'attest explain', () => {
    const a = snpInputFromArgs(argv, {
      report: { type: 'string' },
      measurement: { type: 'string' },
      'max-vcpus': { type: 'string' },
    });
    if (a.help) {
      io.out(EXPLAIN_HELP);
      return EXIT_OK;
    }
    const reportPath = a.extra['report'];
    const mHex = a.extra['measurement'];
    if ((reportPath === undefined) === (mHex === undefined)) {
      throw new UsageError('--report/--measurement: expected exactly one of them');
    }
    let expected: Uint8Array;
    if (typeof mHex === 'string') {
      if (!/^[0-9a-fA-F]{96}$/.test(mHex.trim())) {
        throw new UsageError(`--measurement: expected 96 hex digits, got ${JSON.stringify(mHex)}`);
      }
      expected = new Uint8Array(Buffer.from(mHex.trim(), 'hex'));
    } else {
      expected = parseSnpReport(decodeInput(readInput(String(reportPath), '--report'))).measurement;
    }
    const maxRaw = a.extra['max-vcpus'];
    const maxVcpus = typeof maxRaw === 'string' ? parseDecimal(maxRaw, '--max-vcpus') : undefined;
    if (maxVcpus !== undefined && (maxVcpus < 1 || maxVcpus > 512)) {
      throw new UsageError(`--max-vcpus: expected 1..512, got ${maxVcpus}`);
    }
    const r = explainSnpMeasurement(expected, a.input(), maxVcpus !== undefined ? { maxVcpus } : {});
    if (a.json) {
      io.out(
        `${JSON.stringify(
          {
            kind: 'sev-snp-explain',
            match: r.match,
            expected: hex(r.expected),
            computed: hex(r.computed),
            differences: r.differences,
            candidatesTried: r.candidatesTried,
            verdict: r.verdict,
            inputs: a.inputs,
          },
          null,
          2,
        )}\n`,
      );
    } else {
      io.out(`expected  ${hex(r.expected)}\ncomputed  ${hex(r.computed)}\n${r.match ? 'MATCH' : 'MISMATCH'}: ${r.verdict}\n`);
      for (const d of r.differences ?? []) io.out(`  ${d.input}: given ${d.given}, matches with ${d.found}\n`);
    }
    return r.match ? EXIT_OK : EXIT_ERROR;
  });
}
