/**
 * `teechat measure tdx`: MRTD of a TDVF image; with a CCEL event log, which event produced each
 * RTMR value and where the log departs from an expected log or expected RTMR values.
 */
import { UsageError, parseCli } from '../../protocol-node/args';
import { parseCcel } from '../../protocol/attestation/tdx/ccel';
import { diffRtmrTraces, tdxMrtd, traceRtmrs, type RtmrStep } from '../../protocol/measure/tdx';
import { explainTdxBoot, type TdxExplainResult } from '../../protocol/measure/explain-tdx';
import {
  KERNEL_LOADS,
  measureTdxDirectBoot,
  type KernelLoad,
  type TdxDirectBootInput,
  type TdxDirectBootResult,
} from '../../protocol/measure/tdx-boot';
import type { CliIo } from './attest-common';
import { decodeInput } from './attest-common';
import { EXIT_ERROR, EXIT_OK, guarded, nodeMeasureHash, parseAutoBaseInt, parseMemorySize, readInput } from './measure-common';

export const TDX_MEASURE_HELP = `Usage: teechat measure tdx [--tdvf FILE [--two-pass]]
         [--kernel FILE --initrd FILE --append CMDLINE [--memory SIZE] [--kernel-load MODE]
          [--acpi-data-size N]]
         [--ccel FILE [--expect-ccel FILE]] [--expect-rtmr0..3 HEX] [--json]

  --tdvf FILE          TDVF (OVMF with TDX metadata): prints MRTD (SHA-384 of TDH.MEM.PAGE.ADD and
                       TDH.MR.EXTEND over the metadata sections, in image order)
  --two-pass           add every page first, then extend (some QEMU / TDX module combinations;
                       virtee/tdx-measure#18): a different MRTD
  --kernel FILE        direct boot (QEMU -kernel/-initrd/-append with a TDVF): prints RTMR1 (the
                       kernel's PE/COFF Authenticode SHA-384 and the TDVF's four boot events) and
  --initrd FILE        RTMR2 (the EFI stub's LoadOptions and initrd events). --initrd is required:
  --append CMDLINE     direct boots without an initrd are not modelled. The command line is the
                       -append string; OVMF adds " initrd=initrd" and the stub hashes it as UTF-16LE
                       with a NUL
  --memory SIZE        guest RAM as given to QEMU -m (2G, 2048M; a unit is required): QEMU patches
                       the initrd address into the kernel's setup header, so the kernel digest
                       depends on it below 2.75 GiB (all sizes ≥ 2.75 GiB and exactly 2 GiB agree)
  --kernel-load MODE   qemu-patched (default; OVMF before edk2-stable202505, what dstack-mr and
                       tdx-measure assume) or raw (newer OVMF measures the kernel file unpatched)
  --acpi-data-size N   QEMU's ACPI data size (default 0x28000, q35)
  --ccel FILE          a CCEL event log (the ACPI CCEL data): prints RTMR0..3 and the events that
                       produced each one; with --kernel, also compares the log's events with the
                       computed ones (see "teechat attest explain tdx")
  --expect-ccel FILE   compare with an expected log: the first event where each RTMR diverges
  --expect-rtmrN HEX   compare RTMR N (replayed from --ccel, or computed from --kernel) with an
                       expected value
  --json               everything as JSON
Exit status: 0 computed (and every expectation met), 1 an expectation differs or bad input, 2 usage.
RTMR0 is not computed from files: it measures the TD HOB, the firmware variables and the ACPI tables
QEMU generates for the exact machine (devices, vCPUs, memory, QEMU version); read it from a
reference log with --ccel (docs/MEASUREMENTS.md).
`;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const stepJson = (s: RtmrStep | null): unknown =>
  s === null ? null : { event: s.event, eventType: `0x${s.eventType.toString(16)}`, digest: hex(s.digest), after: hex(s.after) };

export function measureTdxCommand(argv: readonly string[], io: CliIo): Promise<number> {
  return guarded(io, 'measure tdx', () => {
    const parsed = parseCli(
      argv,
      {
        tdvf: { type: 'string' },
        'two-pass': { type: 'boolean' },
        ccel: { type: 'string' },
        'expect-ccel': { type: 'string' },
        'expect-rtmr0': { type: 'string' },
        'expect-rtmr1': { type: 'string' },
        'expect-rtmr2': { type: 'string' },
        'expect-rtmr3': { type: 'string' },
        ...DIRECT_BOOT_OPTIONS,
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      false,
    );
    const v = parsed.values;
    if (v.help === true) {
      io.out(TDX_MEASURE_HELP);
      return EXIT_OK;
    }
    if (v.tdvf === undefined && v.ccel === undefined && v.kernel === undefined) {
      throw new UsageError('--tdvf/--kernel/--ccel: expected at least one, got none');
    }
    const boot = v.kernel !== undefined ? directBootInput(v) : undefined;
    if (boot === undefined && (v.initrd !== undefined || v.append !== undefined || v.memory !== undefined || v['kernel-load'] !== undefined || v['acpi-data-size'] !== undefined)) {
      throw new UsageError('--initrd/--append/--memory/--kernel-load/--acpi-data-size: expected --kernel with them, got none');
    }
    const expects = [v['expect-rtmr0'], v['expect-rtmr1'], v['expect-rtmr2'], v['expect-rtmr3']].map((x, i) => {
      if (x === undefined) return undefined;
      if (!/^[0-9a-fA-F]{96}$/.test(x)) throw new UsageError(`--expect-rtmr${i}: expected 96 hex digits, got ${JSON.stringify(x)}`);
      return x.toLowerCase();
    });
    if (v['expect-ccel'] !== undefined && v.ccel === undefined) throw new UsageError('--expect-ccel: expected --ccel with it, got none');
    if (v.ccel === undefined && expects.some((x, i) => x !== undefined && (boot === undefined || i === 0 || i === 3))) {
      throw new UsageError('--expect-rtmrN: expected --ccel (any RTMR) or --kernel (RTMR1, RTMR2) with it, got none');
    }
    const out: Record<string, unknown> = { kind: 'tdx' };
    const text: string[] = [];
    let ok = true;
    if (v.tdvf !== undefined) {
      const r = tdxMrtd(readInput(v.tdvf, '--tdvf'), { order: v['two-pass'] === true ? 'two-pass' : 'interleaved' });
      out['mrtd'] = hex(r.mrtd);
      out['order'] = r.order;
      out['pagesAdded'] = r.pagesAdded;
      out['chunksExtended'] = r.chunksExtended;
      out['sections'] = r.sections.map((s) => ({
        type: s.type,
        dataOffset: s.dataOffset,
        rawSize: s.rawSize,
        memoryAddress: `0x${s.memoryAddress.toString(16)}`,
        memorySize: s.memorySize,
        attributes: s.attributes,
      }));
      text.push(`MRTD   ${hex(r.mrtd)}`);
    }
    let computed: TdxDirectBootResult | undefined;
    if (boot !== undefined) {
      computed = measureTdxDirectBoot(boot);
      out['directBoot'] = directBootJson(computed, boot);
      text.push(`RTMR1  ${hex(computed.rtmr1)}  (computed: kernel ${computed.kernelLoad})`, `RTMR2  ${hex(computed.rtmr2)}  (computed)`);
      if (v.ccel === undefined) {
        const checks = [1, 2].flatMap((i) => {
          const x = expects[i];
          if (x === undefined) return [];
          const actual = hex(i === 1 ? computed!.rtmr1 : computed!.rtmr2);
          if (actual !== x) {
            ok = false;
            text.push(`RTMR${i} DIFFERS: expected ${x}, computed ${actual} ("teechat attest explain tdx" with the reference log names the input)`);
          }
          return [{ rtmr: i, same: actual === x, expected: x, actual }];
        });
        out['rtmrChecks'] = checks;
      }
    }
    if (v.ccel !== undefined) {
      const log = parseCcel(decodeInput(readInput(v.ccel, '--ccel')));
      const trace = traceRtmrs(log);
      const finals = trace.map((t) => (t.length === 0 ? '00'.repeat(48) : hex(t[t.length - 1]!.after)));
      out['rtmrs'] = finals;
      out['events'] = trace.map((t) => t.map(stepJson));
      finals.forEach((f, i) => {
        text.push(`RTMR${i}  ${f}  (${trace[i]!.length} events${trace[i]!.length ? `: #${trace[i]!.map((s) => s.event).join(', #')}` : ''})`);
      });
      const rtmrChecks = expects.map((x, i) => {
        if (x === undefined) return null;
        const same = finals[i] === x;
        if (!same) {
          ok = false;
          text.push(`RTMR${i} DIFFERS: expected ${x}, replayed ${finals[i]} (produced by events #${trace[i]!.map((s) => s.event).join(', #') || 'none'})`);
        }
        return { rtmr: i, same, expected: x, actual: finals[i] };
      });
      out['rtmrChecks'] = rtmrChecks.filter((x) => x !== null);
      if (v['expect-ccel'] !== undefined) {
        const exp = traceRtmrs(parseCcel(decodeInput(readInput(v['expect-ccel'], '--expect-ccel'))));
        const diffs = diffRtmrTraces(trace, exp);
        out['logDiff'] = diffs.map((d) => ({ ...d, actual: stepJson(d.actual), expected: stepJson(d.expected) }));
        for (const d of diffs) {
          if (d.same) continue;
          ok = false;
          text.push(
            `RTMR${d.rtmr} diverges at its extend #${d.firstDifference}: log event ${d.actual ? `#${d.actual.event} (type 0x${d.actual.eventType.toString(16)}) digest ${hex(d.actual.digest)}` : 'none'}, expected ${d.expected ? `event #${d.expected.event} (type 0x${d.expected.eventType.toString(16)}) digest ${hex(d.expected.digest)}` : 'none'}`,
          );
        }
      }
    }
    if (boot !== undefined && v.ccel !== undefined) {
      const r = explainTdxBoot(parseCcel(decodeInput(readInput(v.ccel, '--ccel'))), boot);
      out['explain'] = explainJson(r);
      if (!r.match) {
        ok = false;
        text.push(`LOG DIFFERS from the computed direct boot: ${r.verdict}`);
      }
    }
    out['ok'] = ok;
    io.out(v.json === true ? `${JSON.stringify(out, null, 2)}\n` : `${text.join('\n')}\n`);
    return ok ? EXIT_OK : EXIT_ERROR;
  });
}

/** The direct-boot flags shared with "teechat attest explain tdx". */
export const DIRECT_BOOT_OPTIONS = {
  kernel: { type: 'string' },
  initrd: { type: 'string' },
  append: { type: 'string' },
  memory: { type: 'string' },
  'kernel-load': { type: 'string' },
  'acpi-data-size': { type: 'string' },
} as const;

export function directBootInput(v: {
  kernel?: string | undefined;
  initrd?: string | undefined;
  append?: string | undefined;
  memory?: string | undefined;
  'kernel-load'?: string | undefined;
  'acpi-data-size'?: string | undefined;
}): TdxDirectBootInput {
  if (v.kernel === undefined) throw new UsageError('--kernel: expected a kernel image, got none');
  if (v.initrd === undefined) throw new UsageError('--initrd: expected it with --kernel (direct boots without an initrd are not modelled), got none');
  if (v.append === undefined) throw new UsageError('--append: expected the command line with --kernel (--append "" for an empty one), got none');
  const load = (v['kernel-load'] ?? 'qemu-patched') as KernelLoad;
  if (!KERNEL_LOADS.includes(load)) throw new UsageError(`--kernel-load: expected ${KERNEL_LOADS.join(' or ')}, got ${JSON.stringify(v['kernel-load'])}`);
  if (load === 'qemu-patched' && v.memory === undefined) {
    throw new UsageError('--memory: expected the guest RAM size with --kernel-load qemu-patched (the patched kernel digest depends on it), got none');
  }
  if (load === 'raw' && (v.memory !== undefined || v['acpi-data-size'] !== undefined)) {
    throw new UsageError('--memory/--acpi-data-size: expected none with --kernel-load raw (nothing is patched), got one');
  }
  let acpiDataSize: number | undefined;
  if (v['acpi-data-size'] !== undefined) {
    const n = parseAutoBaseInt(v['acpi-data-size'], '--acpi-data-size');
    if (n > 0xffff_ffffn) throw new UsageError(`--acpi-data-size: expected ≤ 0xffffffff, got ${v['acpi-data-size']}`);
    acpiDataSize = Number(n);
  }
  return {
    kernel: readInput(v.kernel, '--kernel'),
    initrd: readInput(v.initrd, '--initrd'),
    append: v.append,
    kernelLoad: load,
    hash: nodeMeasureHash,
    ...(v.memory !== undefined ? { memoryBytes: parseMemorySize(v.memory, '--memory') } : {}),
    ...(acpiDataSize !== undefined ? { acpiDataSize } : {}),
  };
}

export function directBootJson(r: TdxDirectBootResult, input: TdxDirectBootInput): Record<string, unknown> {
  const ev = (e: { eventType: number; input: string; description: string; digest: Uint8Array }): unknown => ({
    eventType: `0x${e.eventType.toString(16)}`,
    input: e.input,
    description: e.description,
    digest: hex(e.digest),
  });
  return {
    rtmr1: hex(r.rtmr1),
    rtmr2: hex(r.rtmr2),
    kernelLoad: r.kernelLoad,
    kernelDigest: hex(r.kernelDigest),
    memoryBytes: input.memoryBytes?.toString() ?? null,
    initrdAddress: r.initrdAddress === null ? null : `0x${r.initrdAddress.toString(16)}`,
    initrdSize: input.initrd.length,
    loadOptions: r.loadOptions,
    rtmr1Events: r.rtmr1Events.map(ev),
    rtmr2Events: r.rtmr2Events.map(ev),
  };
}

export function explainJson(r: TdxExplainResult): Record<string, unknown> {
  const h = (b: Uint8Array | null): string | null => (b === null ? null : hex(b));
  return {
    match: r.match,
    verdict: r.verdict,
    rtmrs: r.rtmrs.map((x) => ({ rtmr: x.rtmr, same: x.same, computed: hex(x.computed), logged: hex(x.logged), quoted: h(x.quoted) })),
    inputs: r.inputs.map((x) => ({ ...x, computed: h(x.computed), logged: h(x.logged) })),
  };
}
